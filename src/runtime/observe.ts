import { isRecord, namesInDir, parseStateJson, readStateText } from '../state/read.js';
import { StateReadError } from '../state/errors.js';
import { log } from '../log.js';
import type { ObservedStatus } from '../../machines/container.js';
import type { RuntimeContext } from './context.js';
import { readExitCode } from './conmon.js';
import * as runc from './runc.js';
import { existingPodSandboxes } from './pod.js';
import { ONE_OFF_LABEL } from '../project/one-off.js';
import { STDIN_OPEN_ANNOTATION } from './spec.js';

// What exists, read from the runtime and the files conmon writes, never from memory: the same answer
// whether the last Corral process finished cleanly or was killed halfway. One `runc list` for the
// whole project; the config hash comes from the annotations it reports (or the bundle's config.json).

export interface ObservedContainer {
  readonly id: string;
  readonly pod: string;
  readonly name: string;
  readonly status: Exclude<ObservedStatus, 'absent'>;
  /** Config hash recorded when it was created. */
  readonly hash?: string;
  readonly pid?: number;
  readonly exitCode?: number;
  /** When the runtime created it (ISO 8601). */
  readonly created?: string;
  /** Created with privileged: true (all capabilities, no confinement). */
  readonly privileged?: true;
  /** Made by `corral run`, from no pod of the project file: `up` leaves it, `down` removes it. */
  readonly oneOff?: true;
  /** Running, but the conmon that watched it is gone (see lost-monitor.ts); only `up` looks. */
  readonly monitorLost?: true;
  /** Exited, and its root file system is no longer mounted (a `down` killed halfway); only `up` looks. */
  readonly rootfsGone?: true;
}

export interface ObservedProject {
  /** Sorted by id. */
  readonly containers: readonly ObservedContainer[];
  /** Pods with a sandbox on the host, sorted. */
  readonly pods: readonly string[];
}

function splitId(id: string): { pod: string; name: string } {
  const [, pod = '', name = ''] = id.split('.');
  return { pod, name };
}

function bundleIds(context: RuntimeContext): Promise<string[]> {
  return namesInDir(context.paths.containersRun);
}

/**
 * A damaged bundle cannot be repaired in place, and read as "no annotations" it would lose the
 * config hash (so `up` would recreate the container) and the stop signal. `down` removes the
 * container and its bundle without it (see stopContainer), and the next `up` creates it again.
 */
const bundleFix = (id: string) => `the bundle of container ${id} is damaged; run \`corral down\` (it removes the container without this file), then \`corral up\``;

/**
 * The annotations of a bundle that runc does not know (a create cut short, a remove cut short). Its
 * damaged config.json costs nothing: no process runs from it, and without a recorded hash the plan
 * makes the container anew (bundle included) or `down` removes it. Said, never silent.
 */
async function annotationsOfBundleOnly(context: RuntimeContext, id: string): Promise<Record<string, string>> {
  try {
    return await readAnnotations(context, id);
  } catch (error) {
    if (!(error instanceof StateReadError)) throw error;
    log.warn(`${error.message}; runc does not know container ${id}, so it is made anew (or removed by \`corral down\`)`);
    return {};
  }
}

/** Corral's annotations in the container's config.json (hash, stop signal, ...); empty when there is no config.json (a create cut short). */
export async function readAnnotations(context: RuntimeContext, id: string): Promise<Record<string, string>> {
  return (await readSpec(context, id))?.annotations ?? {};
}

/** What of a container's spec conmon must know: whether it has a terminal, and whether its stdin stays open. */
export async function readStdioOfSpec(context: RuntimeContext, id: string): Promise<{ terminal: boolean; stdinOpen: boolean }> {
  const spec = await readSpec(context, id);
  return { terminal: spec?.process?.terminal === true, stdinOpen: spec?.annotations?.[STDIN_OPEN_ANNOTATION] === 'true' };
}

interface SpecParts { readonly annotations?: Record<string, string>; readonly process?: { readonly terminal?: boolean } }

async function readSpec(context: RuntimeContext, id: string): Promise<SpecParts | undefined> {
  const file = context.paths.container(id).config;
  const text = await readStateText(file, bundleFix(id));
  if (text === undefined) return undefined;
  return parseStateJson<SpecParts>(file, text, { fix: bundleFix(id), isValid: isRecord, shape: 'an OCI runtime spec' });
}

/** One container from its runtime state (or none: a crash during create) and conmon's exit file. */
async function describe(context: RuntimeContext, id: string, state: runc.RuncState | undefined): Promise<ObservedContainer> {
  const { pod, name } = splitId(id);
  // runc list carries the annotations; config.json (~20 kB with the seccomp profile) is read only without it.
  const [exitCode, annotations] = await Promise.all([readExitCode(context.paths.exits, id), state?.annotations ?? (state ? readAnnotations(context, id) : annotationsOfBundleOnly(context, id))]);
  const recorded = {
    hash: annotations['corral.hash'],
    ...(annotations['corral.privileged'] === 'true' ? { privileged: true as const } : {}),
    ...(annotations[ONE_OFF_LABEL] === 'true' ? { oneOff: true as const } : {}),
  };
  if (!state || state.status === 'stopped' || exitCode !== undefined) return { id, pod, name, status: 'exited', ...recorded, exitCode, created: state?.created };
  const status = state.status === 'created' || state.status === 'creating' ? 'created' : state.status === 'paused' ? 'paused' : 'running';
  return { id, pod, name, status, ...recorded, pid: state.pid, created: state.created };
}

/** One container's observed state. */
export async function observeContainer(context: RuntimeContext, id: string): Promise<ObservedContainer> {
  return describe(context, id, await runc.containerState(context.runc, id));
}

/** Every container and pod sandbox of the project that exists on the host. */
export async function observeProject(context: RuntimeContext): Promise<ObservedProject> {
  const states = new Map((await runc.listContainers(context.runc)).map((state) => [state.id, state]));
  const ids = [...new Set([...states.keys(), ...(await bundleIds(context))])].sort();
  const containers = await Promise.all(ids.map((id) => describe(context, id, states.get(id))));
  return { containers, pods: await existingPodSandboxes(context) };
}
