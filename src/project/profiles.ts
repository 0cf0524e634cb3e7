// profiles: a pod or container with `profiles: [debug]` is part of the project only while one of
// its profiles is active (`--profile debug`, or CORRAL_PROFILES=debug,tools); without profiles it always is.

/** Active profiles from a comma-separated list such as CORRAL_PROFILES ('*' activates all). */
export function parseProfiles(text: string | undefined): string[] {
  return (text ?? '').split(',').map((name) => name.trim()).filter(Boolean);
}

function isActive(profiles: unknown, active: readonly string[]): boolean {
  if (!Array.isArray(profiles) || profiles.length === 0) return true;
  return active.includes('*') || profiles.some((name) => active.includes(String(name)));
}

type Raw = Record<string, unknown>;

/** The entries (services, pods, containers) as written, without those of inactive profiles. */
export const activeOnly = (entries: unknown, active: readonly string[]): Record<string, Raw> => Object.fromEntries(Object.entries((entries ?? {}) as Record<string, Raw>).filter(([, raw]) => isActive(raw.profiles, active)));

/** The pods as written, without the pods and containers of inactive profiles; a pod left without containers goes too. */
export function withActiveProfiles(pods: Record<string, Raw>, active: readonly string[]): Record<string, Raw> {
  return Object.fromEntries(Object.entries(pods)
    .filter(([, pod]) => isActive(pod.profiles, active))
    .map(([name, pod]): [string, Raw] => [name, { ...pod, containers: activeOnly(pod.containers, active), init_containers: activeOnly(pod.init_containers, active) }])
    .filter(([, pod]) => Object.keys(pod.containers as Raw).length > 0));
}
