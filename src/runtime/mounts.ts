import { readFile } from 'node:fs/promises';

// What is mounted where, read from the kernel rather than remembered, so that a crashed run's mounts
// are still found and undone.

/** One line of /proc/self/mountinfo: where, and the flags of that mount (not of its filesystem). */
export interface MountEntry {
  readonly point: string;
  /** Per-mount options as the kernel shows them: rw or ro, then nosuid, nodev, noexec, the atime mode. */
  readonly options: readonly string[];
}

/** The mounts of this mount namespace, in mountinfo order (a mount stacked on another comes after it). */
export async function mountTable(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** mountinfo's lines: `ID PARENT MAJ:MIN ROOT POINT OPTIONS ...`, octal escapes in paths decoded. */
export function parseMountInfo(text: string): MountEntry[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const fields = line.split(' ');
    return { point: decodeMountPath(fields[4] ?? ''), options: (fields[5] ?? '').split(',') };
  });
}

/** Mount points of this mount namespace (octal escapes in mountinfo decoded). */
export async function mountPoints(): Promise<string[]> {
  return (await mountTable()).map((entry) => entry.point);
}

/** Mount points at or under `dir`, deepest first, which is the order to unmount them in. */
export async function mountPointsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = (await mountPoints()).filter((point) => point === dir || point.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}


function decodeMountPath(raw: string): string {
  return raw.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}
