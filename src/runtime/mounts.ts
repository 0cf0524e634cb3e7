import { readFile } from 'node:fs/promises';

// What is mounted where, read from the kernel rather than remembered, so that a crashed run's mounts
// are still found and undone.

/** Mount points of this mount namespace (octal escapes in mountinfo decoded). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text.split('\n').filter(Boolean).map((line) => decodeMountPath(line.split(' ')[4] ?? ''));
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
