import type { Container, Mount, Pod, PortMapping, Project } from './model.js';

// `corral run`: a one-off container made from a pod's container definition, as docker compose's `run`
// makes one from a service: in a pod of its own (`<pod>-run-<hex>`) on the project's network, with
// the command, environment, mounts, user, working dir and ports the command line gives. It is not
// part of the project file, so `up` leaves it alone and the supervisor never restarts it; `down`
// removes it as compose's `down --remove-orphans` does. Pure: the model in, the model out.

/** The annotation that marks a one-off container (set through its labels, which become annotations). */
export const ONE_OFF_LABEL = 'corral.one-off';

export interface OneOffSettings {
  /** The pod it runs in: `<pod>-run-<hex>` or `--name`. */
  readonly name: string;
  /** Replaces the command (the image's Cmd, or the file's command:). */
  readonly command?: readonly string[];
  /** Replaces the entrypoint (and, as in compose, drops the image's Cmd). */
  readonly entrypoint?: readonly string[];
  /** Over the container's own. */
  readonly env: Readonly<Record<string, string>>;
  /** Added to the container's own (one at the same target replaces it). */
  readonly mounts: readonly Mount[];
  readonly user?: string;
  readonly workdir?: string;
  /** Published ports (`-p`); the pod's own are not, as compose publishes a service's only with --service-ports. */
  readonly ports: readonly PortMapping[];
  /** Its stdio, when the command line decides it (in the foreground); otherwise the container's own. */
  readonly stdio?: { readonly tty: boolean; readonly stdinOpen: boolean };
}

/**
 * The process of the one-off. An image's container gets its argv when the image is resolved (from
 * what the file and the image say): the overrides go where the file's entrypoint and command are. A
 * container from a rootfs has one argv for both, so a command alone replaces all of it.
 */
function withProcess(container: Container, settings: OneOffSettings): Container {
  if (settings.command === undefined && settings.entrypoint === undefined) return container;
  if (container.image) {
    const image = { ...container.image, ...(settings.entrypoint ? { entrypoint: settings.entrypoint } : {}), ...(settings.command ? { command: settings.command } : {}) };
    return { ...container, image };
  }
  return { ...container, argv: [...(settings.entrypoint ?? []), ...(settings.command ?? (settings.entrypoint ? [] : container.argv))] };
}

/** The pod of one one-off container, from `pod` and its `container`, with the command line's settings. */
export function oneOffPod(pod: Pod, container: Container, settings: OneOffSettings): Pod {
  const targets = new Set(settings.mounts.map((mount) => mount.target));
  // Never restarted, watched or an init container; what it depends on stays, to be started first.
  const { init: _init, watch: _watch, tty: _tty, stdinOpen: _stdinOpen, ...rest } = withProcess(container, settings);
  const stdio = settings.stdio ?? { tty: container.tty === true, stdinOpen: container.stdinOpen === true };
  const oneOff: Container = {
    ...rest,
    pod: settings.name,
    env: { ...container.env, ...settings.env },
    mounts: [...container.mounts.filter((mount) => !targets.has(mount.target)), ...settings.mounts],
    user: settings.user ?? container.user,
    workdir: settings.workdir ?? container.workdir,
    labels: { ...container.labels, [ONE_OFF_LABEL]: 'true' },
    lifecycle: { ...container.lifecycle, restart: { name: 'no' } },
    ...(stdio.tty ? { tty: true } : {}),
    ...(stdio.stdinOpen ? { stdinOpen: true } : {}),
  };
  return {
    ...pod,
    name: settings.name,
    hostname: pod.hostname === pod.name ? settings.name : pod.hostname,
    network: { ...pod.network, ports: [...settings.ports] },
    containers: [oneOff],
  };
}

/** The project with the one-off pod among its pods (its network, names and volumes are the project's). */
export function withOneOffPod(project: Project, pod: Pod): Project {
  return { ...project, pods: [...project.pods.filter((other) => other.name !== pod.name), pod].sort((a, b) => (a.name < b.name ? -1 : 1)) };
}
