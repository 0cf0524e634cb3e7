import { close, constants, open } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import type { CopyEntry, OnSkipped, Owner } from '../runtime/copy-entry.js';
import type { TreeRoot } from '../runtime/tree-in-root.js';
import { planCopy, parseCopyArgument, type CopyArgument } from './copy-plan.js';
import { UsageError } from './errors.js';
import { selectOneContainer } from './resources.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral cp [-a] [-L] SRC DST`, as `docker compose cp`: between the host and a container, either way,
// or a tar stream (`-`) on stdin into a container or on stdout out of one. Modes are always kept;
// owners only with -a (otherwise the container's root owns what is copied in, the caller what is
// copied out). Every path in the container is resolved in its root (runtime/tree-in-root.ts), so no
// symlink there leads to a host path.

interface CpOptions extends TargetOptions {
  readonly archive?: boolean;
  readonly followLink?: boolean;
}

type ContainerArgument = Extract<CopyArgument, { kind: 'container' }>;

const closeFd = promisify(close);

/** The host as a root: its "/", so that host paths go through the same descriptor walk as a container's. */
async function openHostRoot(): Promise<TreeRoot> {
  return { fd: await promisify(open)('/', constants.O_RDONLY | constants.O_DIRECTORY), label: '' };
}

/** Which side is the container's: exactly one, as docker cp has it. */
function sides(source: CopyArgument, destination: CopyArgument): ContainerArgument {
  if (source.kind === 'container' && destination.kind !== 'container') return source;
  if (destination.kind === 'container' && source.kind !== 'container') return destination;
  const both = source.kind === 'container';
  throw new UsageError(both ? 'cp copies between a container and the host, not between two containers' : 'cp needs a container on one side (pod/container:PATH, or SERVICE:PATH)',
    both ? 'copy to the host first, then from there' : 'e.g. corral cp web/app:/etc/hosts ./hosts; a host path with a colon is written ./a:b');
}

const warnSkipped = (label: string): OnSkipped => (entryPath, why) => process.stderr.write(`corral: warning: ${label}${entryPath}: ${why}\n`);

/** Everything a copy needs once both ends are open: the two roots and the paths in them. */
interface Ends {
  readonly source: TreeRoot;
  readonly sourcePath: string;
  readonly destination: TreeRoot;
  readonly destinationPath: string;
}

/** Observe both ends, decide by docker cp's rules, then copy. */
async function copyTree(ends: Ends, options: CpOptions & { owner?: Owner }): Promise<number> {
  const { kindInRoot, readTree, writeTree } = await import('../runtime/tree-in-root.js');
  const labels = { source: ends.source.label, destination: ends.destination.label };
  // A source ending in "/" or "/." names the directory a link there points at, as in docker cp.
  const followLink = options.followLink === true || /\/\.?$/.test(ends.sourcePath);
  const sourceKind = await kindInRoot(ends.source, ends.sourcePath, { followLink });
  if (sourceKind === undefined || sourceKind === 'other') {
    throw new UsageError(`${labels.source}${ends.sourcePath}: ${sourceKind === undefined ? 'no such file or directory' : 'neither a file, a directory nor a symlink'}`, 'check the path; inside a container it is resolved in the container\'s root');
  }
  const [kind, parentKind] = await Promise.all([
    kindInRoot(ends.destination, ends.destinationPath, { followLink: true }),
    kindInRoot(ends.destination, path.posix.dirname(path.posix.normalize(ends.destinationPath)), { followLink: true }),
  ]);
  const plan = planCopy({ path: ends.sourcePath, kind: sourceKind }, { path: ends.destinationPath, kind, parentKind }, labels);
  const entries = readTree(ends.source, ends.sourcePath, { name: plan.name, followLink, onSkipped: warnSkipped(labels.source) });
  return writeTree(ends.destination, plan.into, entries, { ...(options.archive ? {} : { owner: options.owner }) });
}

/** `cp - ctr:DIR`: a tar stream on stdin, unpacked into a directory of the container. */
async function copyFromStdin(container: TreeRoot, into: string, options: CpOptions): Promise<number> {
  const [{ kindInRoot, writeTree }, { entriesOfTar }] = await Promise.all([import('../runtime/tree-in-root.js'), import('../runtime/tar-entries.js')]);
  if ((await kindInRoot(container, into, { followLink: true })) !== 'directory') {
    throw new UsageError(`${container.label}${into} is not a directory`, 'a tar stream from stdin is unpacked into an existing directory');
  }
  const entries = entriesOfTar(process.stdin, warnSkipped('stdin: '));
  return writeTree(container, into, entries, { ...(options.archive ? {} : { owner: { uid: 0, gid: 0 } }) });
}

/** `cp ctr:SRC -`: the tree as a tar stream on stdout, owners as they are in the container. */
async function copyToStdout(container: TreeRoot, from: string, options: CpOptions): Promise<number> {
  const [{ readTree }, { writeTar }] = await Promise.all([import('../runtime/tree-in-root.js'), import('../runtime/tar-entries.js')]);
  if (process.stdout.isTTY) throw new UsageError('cp would write a tar stream to a terminal', 'redirect it to a file or a pipe, e.g. corral cp web/app:/etc - | tar -t');
  const name = path.posix.basename(path.posix.normalize(from)) || '.';
  let count = 0;
  async function* counted(entries: AsyncIterable<CopyEntry>) {
    for await (const entry of entries) {
      count++;
      yield entry;
    }
  }
  await writeTar(counted(readTree(container, from, { name, followLink: options.followLink === true, onSkipped: warnSkipped(container.label) })), process.stdout);
  return count;
}

/** A host path made absolute, keeping a trailing "/" or "/." (they mean something to cp, and path.resolve drops them). */
function absoluteHostPath(argument: CopyArgument): string {
  const typed = argument.kind === 'host' ? argument.path : '.';
  return path.resolve(typed) + (/\/\.?$/.exec(typed)?.[0] ?? '');
}

async function runCp(sourceArgument: string, destinationArgument: string, options: CpOptions): Promise<void> {
  const source = parseCopyArgument(sourceArgument);
  const destination = parseCopyArgument(destinationArgument);
  const target = sides(source, destination);
  const [{ openRuntime }, { openContainerRoot }] = await Promise.all([import('../runtime/context.js'), import('../runtime/container-root.js')]);
  const context = await openRuntime(await targetProjectName(options, { command: 'cp' }), { readOnly: true });
  const container = await openContainerRoot(context, await selectOneContainer(context, target.resource, { command: 'cp', suffix: ':PATH' }));
  const host = await openHostRoot();
  try {
    let copied: number;
    if (source.kind === 'stdio') copied = await copyFromStdin(container, target.path, options);
    else if (destination.kind === 'stdio') copied = await copyToStdout(container, target.path, options);
    else if (source.kind === 'container') copied = await copyTree({ source: container, sourcePath: target.path, destination: host, destinationPath: absoluteHostPath(destination) }, { ...options, owner: { uid: process.getuid!(), gid: process.getgid!() } });
    else copied = await copyTree({ source: host, sourcePath: absoluteHostPath(source), destination: container, destinationPath: target.path }, { ...options, owner: { uid: 0, gid: 0 } });
    process.stderr.write(`copied ${copied} ${copied === 1 ? 'entry' : 'entries'} ${source.kind === 'container' ? `from ${sourceArgument}` : `to ${destinationArgument}`}\n`);
  } finally {
    await Promise.all([closeFd(container.fd), closeFd(host.fd)]);
  }
}

export function registerCp(program: Command): void {
  withTargetOptions(program
    .command('cp')
    .argument('<source>', 'pod/container:PATH, SERVICE:PATH, a host path, or - (a tar stream on stdin)')
    .argument('<destination>', 'pod/container:PATH, SERVICE:PATH, a host path, or - (a tar stream on stdout)')
    .description('copy files between a container and the host (paths in the container are resolved in its root)'))
    .option('-a, --archive', 'keep owners (uid and gid); without it, what is copied belongs to the container\'s root or to you')
    .option('-L, --follow-link', 'follow the source path when it is a symlink')
    .action(async (source: string, destination: string, options: CpOptions, command: Command) => runCp(source, destination, { ...command.optsWithGlobals(), ...options }));
}
