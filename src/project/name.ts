// Project names as docker compose makes and checks them: a name given by the user (`-p`,
// COMPOSE_PROJECT_NAME) must already be valid; one taken from the file's `name:` or from the project
// directory is normalised first (lower case, characters outside a-z0-9_- dropped, no leading - or _),
// so a project in a directory named `tmp.AbC` is `tmpabc`. Corral also bounds the length: the name
// becomes part of dir names, cgroup paths and systemd unit names.

/** Lowercase letters, digits, - and _, starting with a letter or digit, at most 63 characters. */
export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const PROJECT_NAME_RULE = 'lowercase letters, digits, - and _, starting with a letter or digit, at most 63 characters';

/** compose-go's NormalizeProjectName: lower case, only [a-z0-9_-] kept, leading - and _ trimmed. */
export function normaliseProjectName(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_-]/g, '').replace(/^[-_]+/, '');
}

/** Whether `name` can name a project as it is (not after normalising). */
export function isValidProjectName(name: string): boolean {
  return PROJECT_NAME.test(name);
}

/** Docker's rule for a volume name; it keeps a volume inside its volumes dir. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
