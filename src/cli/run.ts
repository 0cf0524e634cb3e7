import type { Command } from 'commander';
import { repeatable } from './repeatable.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Mount, PortMapping, Project } from '../project/model.js';
import { isValidProjectName } from '../project/name.js';
import { parsePort } from '../project/network.js';
import { oneOffPod, type OneOffSettings, withOneOffPod } from '../project/one-off.js';
import { setExplainedExitCode, UsageError } from './errors.js';
import { type TargetOptions, withProjectOptions } from './target.js';
import { loadProjectWithImages } from './up.js';
import type { Attachment } from '../runtime/attach.js';

// `corral run [options] SERVICE [COMMAND...]`, as docker compose's: a one-off container from a pod's
// container definition, in a pod of its own (`<pod>-run-<12 hex>`, or --name) on the project's
// network, what it depends on started first (unless --no-deps). In the foreground it streams the
// container's output and exits with its exit code; -d prints the pod's name and leaves it running.
// In the foreground our stdin is passed on (as compose's -i, the default), and when stdin and stdout
// are terminals the container gets one too (unless -T), joined to ours through its conmon.

interface RunOptions extends TargetOptions {
  readonly rm?: boolean;
  readonly detach?: boolean;
  readonly env?: readonly string[];
  readonly volume?: readonly string[];
  readonly user?: string;
  readonly workdir?: string;
  readonly entrypoint?: string;
  readonly deps?: boolean;
  readonly tty?: boolean;
  readonly name?: string;
  readonly publish?: readonly string[];
  readonly tlsVerify?: string;
  readonly build?: boolean;
}

/** `-e K=V`, or `-e K` for the value K has here (left out when unset, as compose does). */
function parseEnv(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const equals = entry.indexOf('=');
    if (equals === 0) throw new UsageError(`-e ${entry}: no variable name`, 'write -e NAME=value');
    if (equals > 0) env[entry.slice(0, equals)] = entry.slice(equals + 1);
    else if (process.env[entry] !== undefined) env[entry] = process.env[entry]!;
  }
  return env;
}

/** `-v SRC:DST[:ro|rw]`: a host path (absolute, or relative to here) is bound, a name is a named volume. */
function parseVolume(spec: string): Mount {
  const [source, target, mode = 'rw', ...rest] = spec.split(':');
  if (!source || !target || rest.length > 0 || !['ro', 'rw'].includes(mode) || !target.startsWith('/')) {
    throw new UsageError(`-v ${spec}: not SOURCE:TARGET[:ro]`, 'write -v ./data:/data or -v NAME:/data, with an absolute TARGET inside the container');
  }
  const readOnly = mode === 'ro';
  const isPath = source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
  if (!isPath) return { type: 'named', volume: source, source: '', target, readOnly };
  const host = source.startsWith('~') ? path.join(process.env.HOME ?? '/', source.slice(1)) : path.resolve(source);
  return { type: 'bind', source: host, target, readOnly };
}

/** `-p [IP:][HOST:]CONTAINER[/PROTOCOL]`, as in `ports:`. */
function parsePublish(spec: string): PortMapping {
  const mapping = parsePort(spec);
  const inRange = (port: number, least: number) => Number.isInteger(port) && port >= least && port <= 65535;
  if (!inRange(mapping.containerPort, 1) || !inRange(mapping.hostPort, 0) || !['tcp', 'udp'].includes(mapping.protocol)) {
    throw new UsageError(`-p ${spec}: not a port mapping`, 'write -p 8080:80, -p 127.0.0.1:8080:80/udp or -p 80');
  }
  return mapping;
}

/** The pod and container `run` copies: `pod/container`, or a pod of one container by its name. */
function chooseContainer(project: Project, service: string) {
  const [podName, name] = service.split('/') as [string, string | undefined];
  const pod = project.pods.find((candidate) => candidate.name === podName);
  if (!pod) throw new UsageError(`no pod ${podName} in ${project.file}`, `choose from: ${project.pods.map((candidate) => candidate.name).join(', ') || 'none'}`);
  if (name === undefined && pod.containers.length > 1) throw new UsageError(`pod ${pod.name} has ${pod.containers.length} containers`, `name one: ${pod.containers.map((one) => `${pod.name}/${one.name}`).join(', ')}`);
  const container = name === undefined ? pod.containers[0]! : pod.containers.find((candidate) => candidate.name === name);
  if (!container) throw new UsageError(`no container ${service} in ${project.file}`, `choose from: ${pod.containers.map((one) => `${pod.name}/${one.name}`).join(', ')}`);
  return { pod, container };
}

/** The one-off's settings from the command line; the pod's name is checked against the project's pods. */
function settingsOf(project: Project, podName: string, command: readonly string[], options: RunOptions): OneOffSettings {
  const name = options.name ?? `${podName}-run-${randomBytes(6).toString('hex')}`;
  // Pod names become runc ids, cgroups and host names: the rule of project names holds for them too.
  if (!isValidProjectName(name) || name.includes('.')) throw new UsageError(`--name ${name} is not a valid pod name`, 'use lowercase letters, digits, - and _, starting with a letter or digit');
  if (project.pods.some((pod) => pod.name === name)) throw new UsageError(`--name ${name} is a pod of the project file`, 'choose another name');
  return {
    name,
    ...(command.length > 0 ? { command } : {}),
    ...(options.entrypoint === undefined ? {} : { entrypoint: [options.entrypoint] }),
    env: parseEnv(options.env ?? []),
    mounts: (options.volume ?? []).map(parseVolume),
    ports: (options.publish ?? []).map(parsePublish),
    ...(options.user === undefined ? {} : { user: options.user }),
    ...(options.workdir === undefined ? {} : { workdir: options.workdir }),
    ...(options.detach ? {} : { stdio: { tty: options.tty !== false && Boolean(process.stdin.isTTY && process.stdout.isTTY), stdinOpen: true } }),
  };
}

async function runOneOff(service: string, command: string[], options: RunOptions): Promise<void> {
  if (options.rm && options.detach) throw new UsageError('--rm and -d together: no one would be there to remove it when it exits', 'use one of them; remove a detached one later with corral rm');
  if (command[0] === '--') command = command.slice(1);
  let podName = '';
  // Pull and build progress on stderr: stdout is the command's own output.
  const project = await loadProjectWithImages(options, {
    progressTo: process.stderr,
    edit(loaded) {
      const { pod, container } = chooseContainer(loaded, service);
      const oneOff = oneOffPod(pod, container, settingsOf(loaded, pod.name, command, options));
      podName = oneOff.name;
      return withOneOffPod(loaded, oneOff);
    },
  });
  const pod = project.pods.find((candidate) => candidate.name === podName)!;
  const [{ openRuntime }, { startOneOff, removeOneOff }, { waitForExitCode }, { attachToContainer }, { joinStdio }, { stopContainer }] = await Promise.all([
    import('../runtime/context.js'), import('../converge/one-off.js'), import('../converge/exits.js'), import('../runtime/attach.js'), import('./stdio-session.js'),
    import('../runtime/container.js'),
  ]);
  const context = await openRuntime(project.name);
  const say = (line: string) => process.stderr.write(`${line}\n`);
  let attachment: Attachment | undefined;
  const id = await startOneOff({
    context, project, pod, dependencies: options.deps !== false, onProgress: say,
    // Joined before it starts, so that its first words are not missed.
    beforeStart: options.detach ? undefined : async (created) => {
      attachment = await attachToContainer(context, created, { stdout: process.stdout, stderr: process.stderr });
    },
  });
  if (options.detach) {
    process.stdout.write(`${pod.name}\n`);
    return;
  }
  // Ctrl-C (or a TERM) stops the container, as compose's does; its exit then ends the command.
  const stop = () => void stopContainer(context, id).catch((error: Error) => say(`corral: stopping ${pod.name}: ${error.message}`));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await joinStdio(attachment!, { tty: pod.containers[0]!.tty === true, stdin: true });
  const code = await waitForExitCode(context, { id, pod: pod.name, name: pod.containers[0]!.name });
  if (options.rm) await removeOneOff(context, id);
  setExplainedExitCode(code);
}


export function registerRun(program: Command): void {
  // The project options of the subcommand, without -p (here: --publish, as in compose) and without -f
  // (-p and -f before `run` name the project: corral -p NAME run ...).
  withProjectOptions(program
    .command('run')
    .argument('<service>', 'pod (of one container) or pod/container whose definition to run')
    .argument('[command...]', 'the command and its arguments, instead of the container\'s')
    .description('run a one-off command in a new container of a pod\'s definition, in a pod of its own'), { shortFile: false, shortProjectName: false })
    .option('--rm', 'remove the container and its pod when it exits')
    .option('-d, --detach', 'leave it running in the background and print its pod\'s name')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', repeatable)
    .option('-v, --volume <SRC:DST[:ro]>', 'bind a host path or mount a named volume (repeatable)', repeatable)
    .option('-u, --user <user>', 'run as this user (name or uid[:gid])')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('--entrypoint <command>', 'replace the entrypoint (and the image\'s command)')
    .option('--no-deps', 'do not start the pods it depends on')
    .option('-T, --no-tty', 'no terminal, even when stdin and stdout are terminals')
    .option('-i, --interactive', 'pass stdin on (the default in the foreground, as in compose)')
    .option('--name <name>', 'name of its pod (default: <pod>-run-<12 hex digits>)')
    .option('-p, --publish <port>', 'publish a port: [IP:][HOST:]CONTAINER[/PROTOCOL] (repeatable)', repeatable)
    .option('--profile <name>', 'activate a profile (repeatable)', (value: string, previous: string[]) => [...previous, ...value.split(',').filter(Boolean)], [])
    .option('--tls-verify <bool>', 'false: pull from registries over plain HTTP or unverified TLS', 'true')
    .option('--build', 'build the image again, even if built before')
    .option('--debug', 'print stacks and the runtime\'s own output')
    .passThroughOptions()
    .action(async (service: string, command: string[], options: RunOptions, cmd: Command) => runOneOff(service, command, { ...cmd.optsWithGlobals(), ...options }));
}
