import { readFileInRoot } from './read-in-root.js';

// `user: www-data` in a project file means what it means in the image: the uid, primary gid and
// supplementary groups written in the rootfs' /etc/passwd and /etc/group, not the host's.

export interface ResolvedUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: readonly number[];
  /** Home directory from /etc/passwd, for $HOME; "/" when unknown. */
  readonly home: string;
}

/** A user or group name the image does not know: a mistake in the input, not a fault of the host. */
export class UnknownUserError extends Error {
  override readonly name = 'UnknownUserError';
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

function parsePasswd(text: string): PasswdEntry[] {
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => {
    const [name = '', , uid = '', gid = '', , home = '/'] = line.split(':');
    return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
  }).filter((entry) => Number.isInteger(entry.uid) && Number.isInteger(entry.gid));
}

function parseGroup(text: string): GroupEntry[] {
  return text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => {
    const [name = '', , gid = '', members = ''] = line.split(':');
    return { name, gid: Number(gid), members: members.split(',').filter(Boolean) };
  }).filter((entry) => Number.isInteger(entry.gid));
}

/**
 * An image without /etc/passwd (or /etc/group) has no names to resolve; one that cannot be read is an
 * error. Read inside the root: an image's link must not hand Corral a file of the host.
 */
async function readOptional(rootfs: string, file: string): Promise<string> {
  return (await readFileInRoot(rootfs, file)) ?? '';
}

const isNumeric = (text: string) => /^\d+$/.test(text);

/**
 * Resolves "name", "uid", "name:group" or "uid:gid" against the rootfs. A numeric uid not in
 * /etc/passwd is allowed (gid defaults to 0, as docker does); a name that is not there is an error.
 */
export async function resolveUser(rootfs: string, user: string): Promise<ResolvedUser> {
  const passwd = parsePasswd(await readOptional(rootfs, '/etc/passwd'));
  const groups = parseGroup(await readOptional(rootfs, '/etc/group'));
  const [userPart = '0', groupPart] = user.split(':');

  const entry = isNumeric(userPart)
    ? passwd.find((candidate) => candidate.uid === Number(userPart))
    : passwd.find((candidate) => candidate.name === userPart);
  if (!entry && !isNumeric(userPart)) {
    throw new UnknownUserError(`user "${userPart}" is not in the rootfs' /etc/passwd; use a numeric uid or add the user to the image`);
  }
  const uid = entry?.uid ?? Number(userPart);

  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    const group = isNumeric(groupPart) ? undefined : groups.find((candidate) => candidate.name === groupPart);
    if (!isNumeric(groupPart) && !group) {
      throw new UnknownUserError(`group "${groupPart}" is not in the rootfs' /etc/group; use a numeric gid or add the group to the image`);
    }
    gid = group?.gid ?? Number(groupPart);
  }

  const memberOf = entry ? groups.filter((group) => group.members.includes(entry.name)).map((group) => group.gid) : [];
  const additionalGids = [...new Set(memberOf.filter((other) => other !== gid))].sort((a, b) => a - b);
  return { uid, gid, additionalGids, home: entry?.home ?? '/' };
}
