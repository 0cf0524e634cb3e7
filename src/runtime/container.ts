import { chown, mkdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { pathExists, whenMissing } from '../state/read.js';
import path from 'node:path';
import { watchDirChanges } from '../state/dir-changes.js';
import type { Container, Pod, Project, SharedNamespace } from '../project/model.js';
import { SHARED_KIND } from '../project/namespaces.js';
import { writeFileAtomic, writeJsonAtomic } from '../state/atomic.js';
import { containerCgroup } from '../state/paths.js';
import * as native from '../native.js';
import type { RuntimeContext } from './context.js';
import { createWithConmon, readExitCode, readPidFile } from './conmon.js';
import { endOrphanedConmon, isLiveConmon } from './lost-monitor.js';
import { placeMonitor } from './monitors.js';
import { thawIfPaused } from './pause.js';
import { signalContainer } from './signal.js';
import { readAnnotations, readStdioOfSpec } from './observe.js';
import { pinnedNamespacePaths, podPidNamespace } from './pod.js';
import * as runc from './runc.js';
import { generateSpec, type ResolvedMount, specText, wantsNotify } from './spec.js';
import { ensureNotifyKeeper } from './notify-keeper.js';
import { type ResolvedUser, resolveUser } from './users.js';
import { resolveInside } from './subpath.js';
import { prepareHostVolume } from './host-volume.js';
import { type JudgedSource, judgedSource, prepareBindSource, readJudgedMounts, verifyMountedSources } from './bind-source.js';
import { realOwnDirs } from '../project/bind-policy.js';
import { allowTraversal, hostIdOf, prepareMountPoints, releaseUserNamespaces, resolveUserNamespace, type ResolvedUserNamespace } from './userns.js';
import { containerId } from '../state/paths.js';
import { RuntimeError } from './errors.js';
import { loadSeccompProfile } from './seccomp.js';
import { mountContainerRoot } from './root.js';
import { lockedFlagsOfSources } from './locked-flags.js';
import { findBinary } from './host.js';
import { resolveDevices } from './devices.js';
import { POST_START_TIMEOUT_MS, runHooks } from './hooks.js';
import { crashPoint } from '../crash-point.js';
import { StateReadError } from '../state/errors.js';
import { log } from '../log.js';

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
  if (await pathExists(source)) return;
  const seeding = `${source}.seeding`;
  await rm(seeding, { recursive: true, force: true });
  await ensureDirectory(seeding);
  // Symlinks in the image resolve on the host here: seed only from a directory really inside the root.
  // Not in the image, or not resolvable in it (a file on the way, a symlink loop): nothing to seed from.
  const real = await realpath(path.join(rootfs, target)).catch(whenMissing('', ['ENOTDIR', 'ELOOP']));
  const inside = real.startsWith(`${await realpath(rootfs)}/`);
  const { execa } = await import('execa');
  if (inside && (await stat(real)).isDirectory()) await execa('cp', ['-a', `${real}/.`, seeding]);
  await rename(seeding, source);
}

/**
 * Host paths for each mount: named volumes live in the project's state dir; binds are judged again and
 * mounted where they really lead; subpaths stay inside. Each comes with the inode it must show once mounted.
 */
async function resolveMounts(context: RuntimeContext, container: Container, rootfs: string, userns: ResolvedUserNamespace | undefined): Promise<{ mounts: ResolvedMount[]; judged: JudgedSource[] }> {
  const mounts: ResolvedMount[] = [];
  const judged: JudgedSource[] = [];
  const ownDirs = realOwnDirs(context.dirs);
  for (const mount of container.mounts) {
    if (mount.type === 'tmpfs') {
      mounts.push({ type: 'tmpfs', source: 'tmpfs', target: mount.target, readOnly: mount.readOnly, size: mount.size, mode: mount.mode, uid: mount.uid, gid: mount.gid });
      continue;
    }
    let source: string;
    if (mount.type === 'named') {
      let made: boolean;
      if (mount.host !== undefined) {
        ({ source, made } = await prepareHostVolume(context, `${container.pod}/${container.name}`, { ...mount, host: mount.host }));
      } else {
        source = context.paths.volume(mount.volume!);
        if (mount.anonymous) {
          await ensureDirectory(path.dirname(source), 0o700);
          await seedAnonymousVolume(source, rootfs, mount.target);
        }
        made = await mkdir(source, { recursive: true, mode: 0o755 }) !== undefined;
      }
      // A new volume belongs to the root of the container that made it, mapped or not.
      if (made && userns) await chown(source, hostIdOf(userns.uidMappings, 0), hostIdOf(userns.gidMappings, 0));
    } else {
      source = await prepareBindSource(mount, { privileged: container.security.privileged, ownDirs, userns });
    }
    const what = `${mount.subpath === undefined ? '' : `subpath ${mount.subpath} of `}${mount.type === 'named' ? `volume ${mount.volume}` : `bind source ${mount.source}`}`;
    if (mount.subpath !== undefined) source = await resolveInside(source, mount.subpath);
    judged.push(await judgedSource(what, source, mount.target));
    mounts.push({ type: 'bind', source, target: mount.target, readOnly: mount.readOnly });
  }
  return { mounts, judged };
}

/** Writes the container's secrets and configs (owned by its user, or as asked) and mounts each read-only. */
async function provideFiles(dir: string, container: Container, user: ResolvedUser, userns: ResolvedUserNamespace | undefined): Promise<ResolvedMount[]> {
  if (container.files.length === 0) return [];
  await rm(dir, { recursive: true, force: true });
  await ensureDirectory(dir, 0o711);
  return Promise.all(container.files.map(async (file, index) => {
    const source = path.join(dir, `${index}-${file.name}`);
    await writeFile(source, file.content, { mode: file.mode });
    await chown(source, hostIdOf(userns?.uidMappings, file.uid ?? user.uid), hostIdOf(userns?.gidMappings, file.gid ?? user.gid));
    return { type: 'bind' as const, source, target: file.target, readOnly: true };
  }));
}

/**
 * Before the container runs anything (after a create and after each restart), each mount must show
 * what was judged when the container was made; else the container goes.
 */
async function verifyMounts(context: RuntimeContext, id: string, pid: number): Promise<void> {
  try {
    await verifyMountedSources(pid, await readJudgedMounts(context.paths.container(id).judgedMounts));
  } catch (error) {
    await runc.deleteContainer(context.runc, id);
    throw error;
  }
}

/** Where the container's network, IPC, PID and UTS namespaces come from. */
async function namespacesOfContainer(context: RuntimeContext, pod: Pod, container: Container) {
  const pinned = pinnedNamespacePaths(context, pod);
  const joinNamespaces: Partial<Record<SharedNamespace, string>> = {};
  const hostNamespaces: SharedNamespace[] = [];
  for (const key of ['network', 'ipc', 'pid'] as const) {
    const mode = container.namespaces[key];
    const kind = SHARED_KIND[key];
    if (mode.kind === 'host') hostNamespaces.push(kind);
    else if (mode.kind === 'pod') joinNamespaces[kind] = kind === 'pid' ? await podPidNamespace(context, pod) : pinned[kind];
    else if (mode.kind === 'container') {
      const id = containerId(context.project, mode.pod, mode.container);
      const state = await runc.containerState(context.runc, id);
      if (!state?.pid || state.status !== 'running') throw new Error(`${key}: container:${mode.pod}/${mode.container} is not running, so there is no ${key} namespace to join; start it first`);
      joinNamespaces[kind] = `/proc/${state.pid}/ns/${kind}`;
    }
  }
  // A hostname of its own needs a UTS namespace of its own.
  if (container.hostname === undefined && pinned.uts) joinNamespaces.uts = pinned.uts;
  return { joinNamespaces, hostNamespaces };
}

/**
 * Runs `runc create` for the bundle under a new conmon, which appends to the container's log; conmon
 * lives in its own scope or the project's monitors cgroup (monitors.ts), not in this process's.
 */
async function launchWithConmon(context: RuntimeContext, id: string, resource: string, how: { restoreFrom?: string; restoreOptions?: readonly string[]; stdio?: { terminal: boolean; stdinOpen: boolean } } = {}): Promise<{ pid: number }> {
  const files = context.paths.container(id);
  const [pod, container] = resource.split('/') as [string, string];
  await rm(context.paths.exitFile(id), { force: true });
  await rm(files.conmonReported, { force: true });
  // What the spec asks of its stdio, read from the spec itself: a relaunch has no model at hand.
  const stdio = how.stdio ?? await readStdioOfSpec(context, id);
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
    terminal: stdio.terminal,
    stdin: stdio.stdinOpen,
    place: (conmonPid) => placeMonitor({ project: context.project, pid: conmonPid, monitor: { kind: 'conmon', pod, container } }),
    ...(how.restoreFrom === undefined ? {} : { restoreFrom: how.restoreFrom, restoreOptions: how.restoreOptions }),
  });
  await writeFile(files.conmonReported, '', { mode: 0o600 });
  return { pid };
}

/** The syscall filter the file asks for: the host's default profile, none (unconfined), or a profile file. */
async function seccompProfileOf(context: RuntimeContext, seccomp: string) {
  if (seccomp === 'default') return context.seccompProfile;
  if (seccomp === 'unconfined') return undefined;
  const profile = await loadSeccompProfile(seccomp);
  if (!profile?.syscalls) throw new Error(`seccomp profile ${seccomp} cannot be read or is not a profile in the docker/containers-common JSON format; fix the file or use seccomp: default`);
  return profile;
}

/** Creates the container (not yet started) and returns its pid. */
export async function createContainer(context: RuntimeContext, target: ContainerTarget): Promise<{ pid: number }> {
  const { container, pod } = target;
  const files = context.paths.container(target.id);
  try {
    // The machine removes whatever was observed before it creates, so no runtime state is in the way;
    // an overlay left mounted by a crash is replaced (unmounting a non-mount is a cheap no-op).
    for (const dir of [files.bundle, files.persistent]) await ensureDirectory(dir, 0o700);
    // The container's /run/notify: any of its users may reach the socket in it (the keeper binds it 0777).
    if (wantsNotify(container)) await ensureDirectory(files.notifyDir, 0o755);
    for (const dir of [files.upper, files.work, files.rootfs]) await ensureDirectory(dir);
    await native.unmount(files.rootfs, { detach: true });
    // overlayfs wants the top layer first; an image's layers are recorded bottom first.
    // overlayfs refuses a dir twice; a layer listed again (empty layers often are) counts where it is topmost.
    const lower = container.image?.layers ? [...new Set([...container.image.layers].reverse())] : [container.rootfs];
    const userns = await resolveUserNamespace(container.userns, context.paths.usernsClaims, target.id);
    // Container root owns the top of its root filesystem (the overlay's root takes the upper dir's owner).
    if (userns) await chown(files.upper, hostIdOf(userns.uidMappings, 0), hostIdOf(userns.gidMappings, 0));
    const how = await mountContainerRoot({ resource: resourceOf(target), lower, upper: files.upper, work: files.work, target: files.rootfs, copy: container.image ? files.copy : undefined });
    crashPoint('create: root mounted');
    if (how === 'copy' && userns) await chown(files.copy, hostIdOf(userns.uidMappings, 0), hostIdOf(userns.gidMappings, 0));
    const user = await resolveUser(files.rootfs, container.user);
    const podFiles = context.paths.pod(pod.name);
    const hostname = container.hostname ?? pod.hostname;
    if (container.hostname !== undefined) await writeFile(files.hostname, `${hostname}\n`, { mode: 0o644 });
    const volumes = await resolveMounts(context, container, files.rootfs, userns);
    const mounts = [...volumes.mounts, ...await provideFiles(files.providedFiles, container, user, userns)];
    const hostFiles = { hosts: podFiles.hosts, hostname: container.hostname === undefined ? podFiles.hostname : files.hostname, resolvConf: podFiles.resolvConf, shm: podFiles.shm };
    const initBinary = container.initProcess ? findBinary('catatonit') : undefined;
    const bindSources = [...Object.values(hostFiles), ...mounts.filter((mount) => mount.type === 'bind').map((mount) => mount.source), ...(initBinary ? [initBinary] : [])];
    if (userns) await allowTraversal([files.rootfs, ...bindSources]);
    const spec = generateSpec({
      container,
      project: context.project,
      hash: target.hash,
      user,
      hostname,
      rootfs: files.rootfs,
      ...(await namespacesOfContainer(context, pod, container)),
      ...(userns ? { userns } : {}),
      podLabels: pod.labels,
      podFiles: hostFiles,
      notifyDir: files.notifyDir,
      mounts,
      cgroupsPath: `/${containerCgroup(context.project, pod.name, container.name)}`,
      cgroupVersion: native.cgroupVersion(),
      bindSourceFlags: await lockedFlagsOfSources(bindSources),
      nofileHardLimit: context.nofileHardLimit,
      hardLimits: context.hardLimits,
      boundingCapabilities: context.boundingCapabilities,
      seccompProfile: await seccompProfileOf(context, container.security.seccomp),
      ...(initBinary ? { initBinary } : {}),
      ...(container.devices ? { devices: await resolveDevices(container.devices) } : {}),
    });
    if (userns) await prepareMountPoints(files.rootfs, spec.mounts);
    await writeFileAtomic(files.config, specText(spec));
    await writeJsonAtomic(files.judgedMounts, { judged: volumes.judged, targets: mounts.map((mount) => mount.target) });
    // The model says what the spec just written says: no need to read it back (a relaunch does).
    const created = await launchWithConmon(context, target.id, resourceOf(target), { stdio: { terminal: container.tty === true, stdinOpen: container.stdinOpen === true } });
    crashPoint('create: runc created');
    await verifyMounts(context, target.id, created.pid);
    return created;
  } catch (error) {
    throw new RuntimeError({
      resource: resourceOf(target), step: 'create', message: (error as Error).message, cause: error,
      hint: 'check the rootfs, command and mounts in the project file; `corral down` cleans up what was made',
    });
  }
}

/**
 * Starts a created container. One left created by an `up` that was killed may have lost its conmon
 * (conmon dies of SIGPIPE when it reports the pid to a CLI that is gone), or be about to lose it (the
 * CLI died before conmon reported: conmon is still creating, and dies once it reports), or have lost
 * its mount check: started as it is, it would run unwatched and be ended at once. Such a container is
 * launched anew first. The checks read two pid files, stat a marker and the mounts; no runtime call is
 * added to a plain start.
 */
export async function startContainer(context: RuntimeContext, id: string, resource: string): Promise<void> {
  try {
    const files = context.paths.container(id);
    const conmonPid = await readPidFile(files.conmonPidFile);
    const reported = await pathExists(files.conmonReported);
    if (!reported) await endOrphanedConmon(context, id, conmonPid);
    if (!reported || !isLiveConmon(conmonPid)) {
      await runc.deleteContainer(context.runc, id);
      const created = await launchWithConmon(context, id, resource);
      await verifyMounts(context, id, created.pid);
    } else {
      const pid = await readPidFile(files.pidFile);
      if (pid > 0) await verifyMounts(context, id, pid);
    }
    crashPoint('start: checked');
    await ensureNotifyKeeper(context, id, resource);
    await runc.startContainer(context.runc, id);
    crashPoint('start: started');
    await runHooks(context, { id, resource, annotations: await readAnnotations(context, id), point: 'postStart', timeoutMs: POST_START_TIMEOUT_MS });
  } catch (error) {
    throw new RuntimeError({ resource, step: 'start', message: (error as Error).message, cause: error, hint: 'check that the command exists in the rootfs' });
  }
}

/** How often the runtime is asked whether a container that conmon has not reported is still there, in ms. */
const ASK_RUNTIME_EVERY_MS = 250;

/**
 * Waits for conmon's exit file, which also tells that conmon is done with the container: read again
 * as soon as the exits dir changes (inotify; every 10 ms when that is missed), not at the next tick
 * of a 10 ms poll. The runtime is asked only now and then (by the clock: a change in the dir may be
 * another container's exit), for the case where conmon itself was killed and will write nothing.
 */
async function waitForExit(context: RuntimeContext, id: string, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let askedAt = started;
  const changes = watchDirChanges(context.paths.exits);
  try {
    for (;;) {
      const code = await readExitCode(context.paths.exits, id);
      if (code !== undefined) return code;
      if (Date.now() - askedAt >= ASK_RUNTIME_EVERY_MS) {
        askedAt = Date.now();
        const state = await runc.containerState(context.runc, id);
        if (!state || state.status === 'stopped') return readExitCode(context.paths.exits, id);
      }
      if (Date.now() >= deadline) return undefined;
      await changes.next(10);
    }
  } finally {
    changes.close();
  }
}

/**
 * The stop signal and grace period recorded at create. runc copied them into its own state then, so a
 * damaged config.json does not keep a running container from being stopped (by `down` above all):
 * runc's copy is used, and the damage is said. Without either, the StateReadError stands.
 */
async function stopAnnotations(context: RuntimeContext, id: string): Promise<Record<string, string>> {
  try {
    return await readAnnotations(context, id);
  } catch (error) {
    if (!(error instanceof StateReadError)) throw error;
    const kept = (await runc.containerState(context.runc, id))?.annotations;
    if (!kept) throw error;
    log.warn(`${error.message}; stopping ${id} with the stop signal runc recorded (${error.hint})`);
    return kept;
  }
}

/** Stops with the container's stop signal, then SIGKILL after its grace period (both overridable). */
export async function stopContainer(context: RuntimeContext, id: string, options: { graceMs?: number; signal?: string } = {}): Promise<{ exitCode?: number }> {
  const recorded = await readExitCode(context.paths.exits, id);
  if (recorded !== undefined) return { exitCode: recorded };
  await thawIfPaused(context, id);
  const annotations = options.graceMs === 0 ? {} : await stopAnnotations(context, id);
  const graceMs = options.graceMs ?? Number(annotations['corral.stop-grace-ms'] ?? 10_000);
  if (graceMs > 0) {
    // pre_stop hooks take their time out of the grace period, as compose's do.
    const started = Date.now();
    await runHooks(context, { id, resource: id, annotations, point: 'preStop', timeoutMs: graceMs });
    await signalContainer(context, id, options.signal ?? annotations['corral.stop-signal'] ?? 'TERM');
    crashPoint('stop: signalled');
    const code = await waitForExit(context, id, Math.max(0, graceMs - (Date.now() - started)));
    if (code !== undefined) return { exitCode: code };
  }
  await runc.killContainer(context.runc, id, 'KILL', true);
  return { exitCode: await waitForExit(context, id, 10_000) };
}

/**
 * Restarts a container in place, as `docker restart` does: same bundle, same writable layer, same
 * log (appended to), a new process. Stops it first with its stop signal and grace period.
 */
export async function restartContainer(context: RuntimeContext, id: string, resource: string, options: { graceMs?: number } = {}): Promise<{ pid: number }> {
  try {
    await stopContainer(context, id, options);
    crashPoint('restart: stopped');
    await runc.deleteContainer(context.runc, id);
    crashPoint('restart: deleted');
    const created = await launchWithConmon(context, id, resource);
    await verifyMounts(context, id, created.pid);
    await ensureNotifyKeeper(context, id, resource);
    await runc.startContainer(context.runc, id);
    await runHooks(context, { id, resource, annotations: await readAnnotations(context, id), point: 'postStart', timeoutMs: POST_START_TIMEOUT_MS });
    return created;
  } catch (error) {
    throw new RuntimeError({ resource, step: 'restart', message: (error as Error).message, cause: error, hint: 'run `corral up` again; `corral down` cleans up' });
  }
}

/**
 * Brings a checkpointed container back from CRIU's images under a new conmon, which runs `runc restore`
 * in the same bundle (root still mounted, the same config.json): running once its pid is reported.
 */
export async function restoreFromImages(context: RuntimeContext, id: string, resource: string, images: string, runtimeOptions: readonly string[] = []): Promise<{ pid: number }> {
  await runc.deleteContainer(context.runc, id);
  const restored = await launchWithConmon(context, id, resource, { restoreFrom: images, restoreOptions: runtimeOptions });
  await verifyMounts(context, id, restored.pid);
  return restored;
}

/** Removes a container and everything Corral made for it (runtime state, overlay, bundle, upper dir). */
export async function removeContainer(context: RuntimeContext, id: string, resource: string): Promise<void> {
  try {
    await stopContainer(context, id, { graceMs: 0 });
    crashPoint('remove: stopped');
    await runc.deleteContainer(context.runc, id);
    crashPoint('remove: deleted');
    const files = context.paths.container(id);
    await native.unmount(files.rootfs, { detach: true });
    crashPoint('remove: root unmounted');
    await rm(files.bundle, { recursive: true, force: true });
    crashPoint('remove: bundle removed');
    await rm(files.persistent, { recursive: true, force: true });
    crashPoint('remove: upper dir removed');
    await rm(context.paths.exitFile(id), { force: true });
    await releaseUserNamespaces(context.paths.usernsClaims, (owner) => owner === id);
  } catch (error) {
    throw new RuntimeError({ resource, step: 'remove', message: (error as Error).message, cause: error, hint: 'run `corral down` again; `--debug` shows the runtime output' });
  }
}
