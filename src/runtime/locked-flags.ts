import { realpath } from 'node:fs/promises';
import { mountTable, type MountEntry } from './mounts.js';

// The flags a bind mount must keep from the host mount its source lives on. The runtime makes a bind
// with options in two steps, a bind and then a remount of it with exactly the options asked for; a
// remount that leaves out ro, nosuid, nodev, noexec or the atime mode of the source's mount asks to
// clear them. In a user namespace the kernel locks those flags (they came from a more privileged
// mount namespace) and refuses the remount with EPERM: under systemd /run is a nosuid,nodev,noexec
// tmpfs, so the pod's /etc/hosts failed to mount in every user-namespaced container. Outside a user
// namespace the remount would quietly clear them, so a read-only bind gave what a read-write one
// (which is not remounted) never does. Podman adds nosuid, nodev and noexec from statfs(2) of the
// source to every bind, docker puts them on its own binds (resolv.conf, hosts: moby#35205); the runc
// of Debian 12 (1.1) restates none of them itself (runc#1229, #3710).

/** The atime modes as mountinfo shows them; a mount showing neither is strictatime. */
const ATIME_MODES = ['relatime', 'noatime'];
/** Flags the kernel locks, as mountinfo spells them (and OCI mount options too). */
const LOCKABLE = ['ro', 'nosuid', 'nodev', 'noexec', 'nodiratime', 'noatime'];

/**
 * The mount a path lives on: the deepest mount point at or above it, the last one mounted where
 * two share a point (the one on top). `path` must be real (no symlinks), as the kernel resolves it.
 */
export function mountOf(table: readonly MountEntry[], path: string): MountEntry | undefined {
  let found: MountEntry | undefined;
  for (const entry of table) {
    const covers = entry.point === '/' || path === entry.point || path.startsWith(`${entry.point}/`);
    if (covers && (!found || entry.point.length >= found.point.length)) found = entry;
  }
  return found;
}

/** The OCI mount options that restate a mount's lockable flags; relatime, the default of a remount, needs none. */
export function lockedFlagsOf(entry: MountEntry): string[] {
  const flags = LOCKABLE.filter((flag) => entry.options.includes(flag));
  return entry.options.some((option) => ATIME_MODES.includes(option)) ? flags : [...flags, 'strictatime'];
}

/** For each bind source (a host path), the flags its bind must keep; the mount table is read once. */
export async function lockedFlagsOfSources(sources: readonly string[]): Promise<Record<string, string[]>> {
  const table = await mountTable();
  const flags: Record<string, string[]> = {};
  for (const source of new Set(sources)) {
    const entry = mountOf(table, await realpath(source));
    if (!entry) throw new Error(`no mount in /proc/self/mountinfo holds ${source}; is /proc mounted?`);
    flags[source] = lockedFlagsOf(entry);
  }
  return flags;
}
