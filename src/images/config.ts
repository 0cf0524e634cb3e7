import { createHash } from 'node:crypto';
import type { Container, Healthcheck, Mount } from '../project/model.js';
import { ImageError } from './errors.js';

// What an image's config says about running it, and how the project file overrides it, as compose
// does: command replaces Cmd; entrypoint replaces Entrypoint and drops Cmd; env is the image's
// overridden by the file's; working_dir, user, stop_signal and healthcheck fall back to the image's;
// each of the image's Volumes becomes an anonymous volume unless the file mounts something there.

/** The `config` of an OCI image config blob (docker's fields, as buildah and docker write them). */
export interface ImageConfig {
  readonly Entrypoint?: string[] | null;
  readonly Cmd?: string[] | null;
  readonly Env?: string[] | null;
  readonly WorkingDir?: string;
  readonly User?: string;
  readonly ExposedPorts?: Record<string, object> | null;
  readonly Volumes?: Record<string, object> | null;
  readonly StopSignal?: string;
  readonly Healthcheck?: DockerHealthcheck | null;
}

/** docker's healthcheck in an image config: durations in nanoseconds, 0 for the default. */
export interface DockerHealthcheck {
  readonly Test?: string[] | null;
  readonly Interval?: number;
  readonly Timeout?: number;
  readonly StartPeriod?: number;
  readonly StartInterval?: number;
  readonly Retries?: number;
}

/** The image as the container model records it once resolved. */
export interface ResolvedImage {
  readonly id: string;
  /** Layer dirs, bottom first. */
  readonly layers: readonly string[];
  readonly config: ImageConfig;
}

function envOf(config: ImageConfig): Record<string, string> {
  return Object.fromEntries((config.Env ?? []).map((entry) => {
    const at = entry.indexOf('=');
    return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
  }));
}

const nanosToMs = (nanos: number | undefined, fallbackMs: number) => (nanos ? Math.round(nanos / 1e6) : fallbackMs);

/** docker's HEALTHCHECK as the model's healthcheck; undefined for none or NONE. */
export function healthcheckOfImage(check: DockerHealthcheck | null | undefined): Healthcheck | undefined {
  const test = check?.Test ?? [];
  if (test.length === 0 || test[0] === 'NONE') return undefined;
  const argv = test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test.slice(1).join(' ')] : test[0] === 'CMD' ? test.slice(1) : test;
  if (argv.length === 0) return undefined;
  return {
    probe: { kind: 'exec', argv },
    intervalMs: nanosToMs(check!.Interval, 30_000),
    timeoutMs: nanosToMs(check!.Timeout, 30_000),
    retries: check!.Retries || 3,
    startPeriodMs: nanosToMs(check!.StartPeriod, 0),
    startIntervalMs: nanosToMs(check!.StartInterval, 5000),
  };
}

/** The volume an image's VOLUME path gets for one container: names with dots cannot clash with the file's. */
export function anonymousVolumeName(container: Pick<Container, 'pod' | 'name'>, target: string): string {
  return `${container.pod}.${container.name}.${createHash('sha256').update(target).digest('hex').slice(0, 12)}`;
}

function anonymousVolumes(container: Container, config: ImageConfig): Mount[] {
  const taken = new Set(container.mounts.map((mount) => mount.target.replace(/\/+$/, '') || '/'));
  return Object.keys(config.Volumes ?? {})
    .map((target) => target.replace(/\/+$/, '') || '/')
    .filter((target) => target.startsWith('/') && !taken.has(target))
    .sort()
    .map((target) => ({ volume: anonymousVolumeName(container, target), type: 'named', source: '', target, readOnly: false, anonymous: true }));
}

/** The container as its image and the file together describe it. */
export function applyImageConfig(container: Container, image: ResolvedImage): Container {
  const wanted = container.image!;
  const { config } = image;
  const entrypoint = wanted.entrypoint ?? config.Entrypoint ?? [];
  const command = wanted.command ?? (wanted.entrypoint ? [] : config.Cmd ?? []);
  const argv = [...entrypoint, ...command];
  if (argv.length === 0) throw new ImageError(`${container.pod}/${container.name}: image ${wanted.ref} has no Entrypoint or Cmd; add command: to the container`);
  const fromFile = new Set(wanted.fromFile ?? []);
  const stopSignal = !fromFile.has('stop_signal') && config.StopSignal ? config.StopSignal.replace(/^SIG/, '') : container.lifecycle.stopSignal;
  const healthcheck = fromFile.has('healthcheck') ? container.lifecycle.healthcheck : healthcheckOfImage(config.Healthcheck);
  const { healthcheck: _fromFile, ...withoutHealthcheck } = container.lifecycle;
  return {
    ...container,
    argv,
    env: { ...envOf(config), ...container.env },
    workdir: container.workdir || config.WorkingDir || '/',
    user: container.user || config.User || '0:0',
    mounts: [...container.mounts, ...anonymousVolumes(container, config)],
    lifecycle: { ...withoutHealthcheck, stopSignal, ...(healthcheck ? { healthcheck } : {}) },
    image: {
      ...wanted,
      id: image.id,
      layers: image.layers,
      exposedPorts: Object.keys(config.ExposedPorts ?? {}).sort(),
    },
  };
}
