import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import * as native from '../native.js';
import { findPackageFile } from '../package-file.js';
import { whenMissing } from '../state/read.js';
import type { RuntimeContext } from './context.js';
import { readPidFile } from './conmon.js';
import { placeMonitor } from './monitors.js';
import { readAnnotations } from './observe.js';
import { NOTIFY_ANNOTATION } from './spec.js';

// Readiness by sd_notify (`healthcheck: { notify: true }`). The container sends READY=1 to
// $NOTIFY_SOCKET whenever it is ready: during the `up` that started it, after that `up` is gone,
// while a supervisor restarts. So the socket is held by a small keeper process of its own (native/
// src/notify-keeper.c), one per container process, that lives exactly as long as that process (it
// watches it through a pidfd) and records READY=1 in a file the health probe reads. Like conmon it
// is a monitor: it is moved out of the caller's cgroup, so the end of the unit that ran `up` does
// not end it.

const KEEPER_PATH = 'native/build/Release/corral-notify-keeper';

/** Whether `keeperPid` is a live keeper holding the socket for `pid` (its argv ends with it). */
async function keeps(keeperPid: number, pid: number): Promise<boolean> {
  if (!(keeperPid > 0)) return false;
  const argv = (await readFile(`/proc/${keeperPid}/cmdline`, 'utf8').catch(whenMissing(''))).split('\0').filter(Boolean);
  return argv[0]?.endsWith('/corral-notify-keeper') === true && argv.at(-1) === String(pid);
}

/** Starts the keeper and resolves once its socket is bound; rejects with what it said if it could not. */
function launchKeeper(socketDir: string, readyFile: string, pid: number): Promise<number> {
  const binary = findPackageFile(KEEPER_PATH, 'run `npx node-gyp rebuild --directory native`');
  // It lives on its own: it gets nothing this process inherited.
  native.markInheritedDescriptorsCloseOnExec();
  const child = spawn(binary, [socketDir, readyFile, String(pid)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let said = '';
    let errors = '';
    child.stderr!.on('data', (chunk) => (errors += chunk));
    child.stdout!.on('data', (chunk) => {
      said += chunk;
      if (!said.includes('bound\n')) return;
      child.stdout!.destroy();
      child.stderr!.destroy();
      child.unref();
      resolve(child.pid!);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!said.includes('bound\n')) reject(new Error(`the sd_notify keeper exited ${code} before it held ${socketDir}/notify.sock: ${errors.trim() || 'no output'}`));
    });
  });
}

/**
 * Before a container with an sd_notify socket starts: a keeper holds the socket for its process.
 * Safe to repeat (a start after a crash): a keeper already holding it for this process is kept.
 */
export async function ensureNotifyKeeper(context: RuntimeContext, id: string, resource: string): Promise<void> {
  if ((await readAnnotations(context, id))[NOTIFY_ANNOTATION] !== 'true') return;
  const files = context.paths.container(id);
  const pid = await readPidFile(files.pidFile);
  if (pid === 0) throw new Error(`the container ${resource} has no process to hold an sd_notify socket for; run \`corral up\` again`);
  if (await keeps(await readPidFile(files.notifyKeeperPid), pid)) return;
  // A new process: what an earlier one said is not its word (and its pid may be the same number).
  await rm(files.notifyReady, { force: true });
  const keeperPid = await launchKeeper(files.notifyDir, files.notifyReady, pid);
  await writeFile(files.notifyKeeperPid, `${keeperPid}\n`, { mode: 0o600 });
  const [pod, container] = resource.split('/') as [string, string];
  await placeMonitor({ project: context.project, pid: keeperPid, monitor: { kind: 'notify', pod, container } });
}
