import { mkdir, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container, Mount, Pod, Project } from '../project/model.js';
import { writeJsonAtomic } from '../state/atomic.js';
import { podCgroup } from '../state/paths.js';
import * as native from '../native.js';
import type { RuntimeContext } from './context.js';
import { createWithConmon, readExitCode } from './conmon.js';
import { readAnnotations } from './observe.js';
import { pinnedNamespacePaths } from './pod.js';
import * as runc from './runc.js';
import { generateSpec, type ResolvedMount } from './spec.js';
import { resolveUser } from './users.js';
import { RuntimeError } from './errors.js';

// The four things that happen to a container: create (overlay rootfs, config.json, conmon + runc
// create), start, stop (TERM, grace period, KILL) and remove. Each is one step the container machine
// invokes; each is safe to repeat after a crash halfway.

export interface ContainerTarget {
  readonly project: Project;
  readonly pod: Pod;
  readonly container: Container;
  readonly id: string;
  readonly hash: string;
}

const resourceOf = (target: ContainerTarget) => `${target.pod.name}/${target.container.name}`;

async function ensureDirectory(dir: string, mode = 0o755): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
}

/**
 * An image's VOLUME starts with what the image has at that path, as in docker: copied into a sibling
 * dir, which is renamed into place only when complete, so a crash never leaves a half-seeded volume.
 */
async function seedAnonymousVolume(source: string, rootfs: string, target: string): Promise<void> {
  if (await stat(source).then(() => true, () => false)) return;
  const seeding = `${source}.seeding`;
  await rm(seeding, { recursive: true, force: true });
  await ensureDirectory(seeding);
  // Symlinks in the image resolve on the host here: seed only from a directory really inside the root.
  const real = await realpath(path.join(rootfs, target)).catch(() => '');
  const inside = real.startsWith(`${await realpath(rootfs)}/`);
  if (inside && (await stat(real)).isDirectory()) await execa('cp', ['-a', `${real}/.`, seeding]);
  await rename(seeding, source);
}

/** Host paths for each mount: named volumes live in the project's state dir; binds must exist. */
async function resolveMounts(context: RuntimeContext, mounts: readonly Mount[], rootfs: string): Promise<ResolvedMount[]> {
  const resolved: ResolvedMount[] = [];
  for (const mount of mounts) {
    if (mount.type === 'tmpfs') {
      resolved.push({ type: 'tmpfs', source: 'tmpfs', target: mount.target, readOnly: mount.readOnly, size: mount.size, mode: mount.mode });
    } else if (mount.type === 'named') {
      const source = context.paths.volume(mount.volume!);
      if (mount.anonymous) {
        await ensureDirectory(path.dirname(source), 0o700);
        await seedAnonymousVolume(source, rootfs, mount.target);
      }
      await ensureDirectory(source);
      resolved.push({ type: 'bind', source, target: mount.target, readOnly: mount.readOnly });
    } else {
      await stat(mount.source).catch((error) => {
        throw new Error(`bind mount source ${mount.source} does not exist: ${error.code}; create it or fix the path`);
      });
      resolved.push({ type: 'bind', source: mount.source, target: mount.target, readOnly: mount.readOnly });
    }
  }
  return resolved;
}

/** Runs `runc create` for the bundle under a new conmon, which appends to the container's log. */
async function launchWithConmon(context: RuntimeContext, id: string, resource: string): Promise<{ pid: number }> {
  const files = context.paths.container(id);
  await rm(`${context.paths.exits}/${id}`, { force: true });
  const pid = await createWithConmon({
    conmon: context.conmon,
    runtime: context.runc.binary,
    runtimeRoot: context.runc.root,
    id,
    name: resource,
    bundle: files.bundle,
    pidFile: files.pidFile,
    conmonPidFile: files.conmonPidFile,
    logPath: files.log,
    exitDir: context.paths.exits,
    socketDir: context.paths.sockets,
  });
  return { pid };
}

/** Creates the container (not yet started) and returns its pid. */
export async function createContainer(context: RuntimeContext, target: ContainerTarget): Promise<{ pid: number }> {
  const { container, pod } = target;
  const files = context.paths.container(target.id);
  try {
    // The machine removes whatever was observed before it creates, so no runtime state is in the way;
    // an overlay left mounted by a crash is replaced (unmounting a non-mount is a cheap no-op).
    for (const dir of [files.bundle, files.persistent]) await ensureDirectory(dir, 0o700);
    for (const dir of [files.upper, files.work, files.rootfs]) await ensureDirectory(dir);
    await native.unmount(files.rootfs, { detach: true });
    // overlayfs wants the top layer first; an image's layers are recorded bottom first.
    // overlayfs refuses a dir twice; a layer listed again (empty layers often are) counts where it is topmost.
    const lower = container.image?.layers ? [...new Set([...container.image.layers].reverse())] : [container.rootfs];
    await native.mountOverlay({ lower, upper: files.upper, work: files.work, target: files.rootfs });
    const user = await resolveUser(files.rootfs, container.user);
    const podFiles = context.paths.pod(pod.name);
    const spec = generateSpec({
      container,
      project: context.project,
      hash: target.hash,
      user,
      hostname: pod.hostname,
      rootfs: files.rootfs,
      joinNamespaces: pinnedNamespacePaths(context, pod),
      hostNetwork: pod.network.mode === 'host',
      podFiles: { hosts: podFiles.hosts, hostname: podFiles.hostname, resolvConf: podFiles.resolvConf, shm: podFiles.shm },
      mounts: await resolveMounts(context, container.mounts, files.rootfs),
      cgroupsPath: `/${podCgroup(context.project, pod.name)}/${container.name}`,
      nofileHardLimit: context.nofileHardLimit,
      seccompProfile: context.seccompProfile,
    });
    await writeJsonAtomic(files.config, spec);
    return await launchWithConmon(context, target.id, resourceOf(target));
  } catch (error) {
    throw new RuntimeError({
      resource: resourceOf(target), step: 'create', message: (error as Error).message, cause: error,
      hint: 'check the rootfs, command and mounts in the project file; `corral down` cleans up what was made',
    });
  }
}

/** Starts a created container. */
export async function startContainer(context: RuntimeContext, id: string, resource: string): Promise<void> {
  try {
    await runc.startContainer(context.runc, id);
  } catch (error) {
    throw new RuntimeError({ resource, step: 'start', message: (error as Error).message, cause: error, hint: 'check that the command exists in the rootfs' });
  }
}

/**
 * Waits for conmon's exit file, which also tells that conmon is done with the container. The runtime
 * is asked only now and then, for the case where conmon itself was killed and will write nothing.
 */
async function waitForExit(context: RuntimeContext, id: string, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    const code = await readExitCode(context.paths.exits, id);
    if (code !== undefined) return code;
    if (attempt % 25 === 0) {
      const state = await runc.containerState(context.runc, id);
      if (!state || state.status === 'stopped') return readExitCode(context.paths.exits, id);
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(10);
  }
}

/** Stops with the container's stop signal, then SIGKILL after its grace period (both overridable). */
export async function stopContainer(context: RuntimeContext, id: string, options: { graceMs?: number; signal?: string } = {}): Promise<{ exitCode?: number }> {
  const recorded = await readExitCode(context.paths.exits, id);
  if (recorded !== undefined) return { exitCode: recorded };
  const annotations = options.graceMs === 0 ? {} : await readAnnotations(context, id);
  const graceMs = options.graceMs ?? Number(annotations['corral.stop-grace-ms'] ?? 10_000);
  if (graceMs > 0) {
    await runc.killContainer(context.runc, id, options.signal ?? annotations['corral.stop-signal'] ?? 'TERM');
    const code = await waitForExit(context, id, graceMs);
    if (code !== undefined) return { exitCode: code };
  }
  await runc.killContainer(context.runc, id, 'KILL', true);
  return { exitCode: await waitForExit(context, id, 10_000) };
}

/**
 * Restarts a container in place, as `docker restart` does: same bundle, same writable layer, same
 * log (appended to), a new process. Stops it first with its stop signal and grace period.
 */
export async function restartContainer(context: RuntimeContext, id: string, resource: string): Promise<{ pid: number }> {
  try {
    await stopContainer(context, id);
    await runc.deleteContainer(context.runc, id);
    const created = await launchWithConmon(context, id, resource);
    await runc.startContainer(context.runc, id);
    return created;
  } catch (error) {
    throw new RuntimeError({ resource, step: 'restart', message: (error as Error).message, cause: error, hint: 'run `corral up` again; `corral down` cleans up' });
  }
}

/** Removes a container and everything Corral made for it (runtime state, overlay, bundle, upper dir). */
export async function removeContainer(context: RuntimeContext, id: string, resource: string): Promise<void> {
  try {
    await stopContainer(context, id, { graceMs: 0 });
    await runc.deleteContainer(context.runc, id);
    const files = context.paths.container(id);
    await native.unmount(files.rootfs, { detach: true });
    await rm(files.bundle, { recursive: true, force: true });
    await rm(files.persistent, { recursive: true, force: true });
    await rm(`${context.paths.exits}/${id}`, { force: true });
  } catch (error) {
    throw new RuntimeError({ resource, step: 'remove', message: (error as Error).message, cause: error, hint: 'run `corral down` again; `--debug` shows the runtime output' });
  }
}
