import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import * as native from '../native.js';
import { pathExists, whenMissing } from '../state/read.js';

// conmon is the per-container monitor: it runs `runc create`, keeps the container's stdio, writes its
// log in the k8s-file format and its exit code to the exit dir, and outlives every Corral process.
// We talk to it through its sync pipe (fd 3, `_OCI_SYNCPIPE`) to learn the container's pid or the
// runtime's error without polling for a pid file.

export interface ConmonLaunch {
  readonly conmon: string;
  readonly runtime: string;
  readonly runtimeRoot: string;
  readonly id: string;
  /** Human name, shown by conmon in its own logs. */
  readonly name: string;
  readonly bundle: string;
  readonly pidFile: string;
  readonly conmonPidFile: string;
  readonly logPath: string;
  readonly logSizeMax?: number;
  readonly exitDir: string;
  readonly socketDir: string;
  /** The container has a terminal (its spec's process.terminal): conmon takes the pty from the runtime. */
  readonly terminal?: boolean;
  /** conmon keeps a pipe to the container's stdin, written through the attach socket. */
  readonly stdin?: boolean;
  /** Moves conmon (its first process, which waits on its start pipe until then) where it is to live. */
  readonly place: (pid: number) => Promise<void>;
  /**
   * A checkpoint's CRIU images: conmon runs `runc restore --detach --image-path DIR --work-path BUNDLE`
   * instead of `runc create`, and the restored container is running when its pid is reported.
   */
  readonly restoreFrom?: string;
  /** Options for that `runc restore` (`--tcp-established`, `--file-locks`), each passed by `--runtime-opt`. */
  readonly restoreOptions?: readonly string[];
}

/** The file conmon creates in its working directory when the OOM killer strikes in the container's cgroup. */
const OOM_RECORD = 'oom';

/** Whether conmon recorded an OOM kill for the container's current (or last) process. */
export async function oomRecorded(bundle: string): Promise<boolean> {
  return pathExists(path.join(bundle, OOM_RECORD));
}

/** Launches conmon, which creates (or restores) the container, and resolves with the container's pid once it exists. */
export async function createWithConmon(launch: ConmonLaunch): Promise<number> {
  const args = [
    '--api-version', '1',
    '-c', launch.id, '-u', launch.id, '-n', launch.name,
    '-r', launch.runtime, '-b', launch.bundle,
    '-p', launch.pidFile, '--conmon-pidfile', launch.conmonPidFile,
    '-l', `k8s-file:${launch.logPath}`,
    '--log-size-max', String(launch.logSizeMax ?? 16 * 1024 * 1024),
    '--exit-dir', launch.exitDir, '--socket-dir-path', launch.socketDir,
    '--runtime-arg', `--root=${launch.runtimeRoot}`,
    ...(launch.terminal ? ['--terminal'] : []),
    ...(launch.stdin ? ['--stdin'] : []),
    ...(launch.restoreFrom === undefined ? [] : ['--restore', launch.restoreFrom]),
    ...(launch.restoreOptions ?? []).flatMap((option) => ['--runtime-opt', option]),
  ];
  // conmon writes its OOM record (`oom`) into its working directory: the bundle, not the user's
  // directory (which conmon would also keep busy for the container's life). A record there is of
  // the process before this one.
  await rm(path.join(launch.bundle, OOM_RECORD), { force: true });
  // conmon lives as long as the container: it gets its stdio and the sync pipe, nothing this process inherited.
  native.markInheritedDescriptorsCloseOnExec();
  const child = spawn(launch.conmon, args, {
    cwd: launch.bundle,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, _OCI_SYNCPIPE: '3', _OCI_STARTPIPE: '4' },
    detached: true,
  });
  const start = child.stdio[4] as NodeJS.WritableStream & { destroy(): void };
  // A conmon that died before reading it: its end shows on the sync pipe, with its output.
  start.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') child.emit('error', error);
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const sync = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  return new Promise<number>((resolve, reject) => {
    let received = '';
    const finish = (error: Error | undefined, pid?: number) => {
      sync.destroy();
      child.unref();
      if (error) reject(error);
      else resolve(pid!);
    };
    // conmon keeps the sync pipe open for the container's whole life, so read one message and hang up.
    sync.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      const newline = received.indexOf('\n');
      if (newline < 0) return;
      const message = JSON.parse(received.slice(0, newline)) as { data: number; message?: string };
      if (message.data > 0) finish(undefined, message.data);
      else finish(new Error(message.message?.trim() || `conmon reported ${message.data}`));
    });
    sync.on('end', () => finish(new Error(`conmon exited before the container was created: ${output.trim() || 'no output'}`)));
    child.on('error', (error) => finish(error));
    if (child.pid === undefined) return;
    // conmon reads one message from the start pipe and goes on; on EOF it would go on too, so a
    // conmon that could not be placed is killed rather than let go in the wrong cgroup.
    launch.place(child.pid).then(() => start.end('0\n'), (error: Error) => {
      child.kill('SIGKILL');
      start.destroy();
      finish(error);
    });
  });
}

/**
 * A pid conmon wrote (the container's with -p, its own with --conmon-pidfile), or 0 when there is none
 * (yet: no file, or one conmon has not finished writing). A file that cannot be read is an error.
 */
export async function readPidFile(file: string): Promise<number> {
  return Number.parseInt((await readFile(file, 'utf8').catch(whenMissing(''))).trim(), 10) || 0;
}

/** The exit code conmon recorded, or undefined while the container has not exited. */
export async function readExitCode(exitDir: string, id: string): Promise<number | undefined> {
  const text = await readFile(`${exitDir}/${id}`, 'utf8').catch(whenMissing(undefined));
  // Empty while conmon is still writing it: not exited yet, as far as anyone can tell.
  const code = Number.parseInt(text?.trim() ?? '', 10);
  return Number.isNaN(code) ? undefined : code;
}
