import type { Container, Healthcheck, Project } from '../project/model.js';
import { ensureImage, type PullOptions } from './pull.js';
import { buildImage } from './build.js';
import { ImageError, imageStore, readImage, type ImageConfig } from './store.js';

// Before planning, each container with an image gets what its image says, unless the file says
// otherwise, as in compose: command replaces Cmd; entrypoint replaces Entrypoint and drops Cmd; env
// is the image's overridden by the file's; working_dir and user fall back to the image's. The image
// id and layers become part of the container, so a new image recreates it (the config hash).

function envOf(config: ImageConfig): Record<string, string> {
  return Object.fromEntries((config.Env ?? []).map((entry) => {
    const at = entry.indexOf('=');
    return at < 0 ? [entry, ''] : [entry.slice(0, at), entry.slice(at + 1)];
  }));
}

const NANOS_PER_MS = 1_000_000;

/** The image's HEALTHCHECK (docker's form) as a healthcheck of the model, when it has one. */
function healthcheckOf(config: ImageConfig): Healthcheck | undefined {
  const check = config.Healthcheck;
  const test = check?.Test;
  if (!check || !test?.length || test[0] === 'NONE') return undefined;
  const argv = test[0] === 'CMD-SHELL' ? ['/bin/sh', '-c', test.slice(1).join(' ')] : test[0] === 'CMD' ? test.slice(1) : test;
  const ms = (nanos: number | undefined, fallback: number) => (nanos ? Math.round(nanos / NANOS_PER_MS) : fallback);
  return {
    probe: { kind: 'exec', argv },
    intervalMs: ms(check.Interval, 30_000), timeoutMs: ms(check.Timeout, 30_000), retries: check.Retries || 3,
    startPeriodMs: ms(check.StartPeriod, 0), startIntervalMs: ms(check.StartInterval, 5000),
  };
}

function withImage(container: Container, config: ImageConfig, id: string, layers: string[]): Container {
  const image = container.image!;
  const entrypoint = image.entrypoint ?? config.Entrypoint ?? [];
  const command = image.command ?? (image.entrypoint ? [] : config.Cmd ?? []);
  const argv = [...entrypoint, ...command];
  if (argv.length === 0) throw new ImageError(`${container.pod}/${container.name}: image ${image.ref} has no Entrypoint or Cmd; add command: to the container`);
  return {
    ...container,
    argv,
    env: { ...envOf(config), ...container.env },
    workdir: container.workdir || config.WorkingDir || '/',
    user: container.user || config.User || '0:0',
    lifecycle: {
      ...container.lifecycle,
      // SIGTERM is the default, so an image's STOPSIGNAL applies unless the file names another.
      stopSignal: container.lifecycle.stopSignal === 'TERM' && config.StopSignal ? config.StopSignal.replace(/^SIG/, '') : container.lifecycle.stopSignal,
      healthcheck: container.lifecycle.healthcheck ?? (container.lifecycle.healthcheckDisabled ? undefined : healthcheckOf(config)),
    },
    image: { ...image, id, layers },
  };
}

/** The project with every image resolved (pulled as the pull policies say). Different images are pulled in parallel. */
export async function resolveProjectImages(project: Project, stateDir: string, options: PullOptions & { rebuild?: boolean } = {}): Promise<Project> {
  const containers = project.pods.flatMap((pod) => pod.containers).filter((container) => container.image);
  if (containers.length === 0) return project;
  const store = imageStore(stateDir);
  const wanted = new Map(containers.map((container) => [container.image!.ref, container.image!]));
  const images = new Map(await Promise.all([...wanted].map(async ([ref, image]) => {
    // Built once, then again only with --build (or when gone from the store), as compose does.
    if (image.build && (options.rebuild || !(await readImage(store, ref)))) return [ref, await buildImage(store, ref, image.build, options.onProgress)] as const;
    return [ref, await ensureImage(store, ref, image.build ? 'missing' : image.pullPolicy, options)] as const;
  })));
  return {
    ...project,
    pods: project.pods.map((pod) => ({
      ...pod,
      containers: pod.containers.map((container) => {
        if (!container.image) return container;
        const image = images.get(container.image.ref)!;
        return withImage(container, image.config, image.id, image.layers.map((digest) => store.layer(digest)));
      }),
    })),
  };
}
