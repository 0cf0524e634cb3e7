import type { Command } from 'commander';
import type { Project } from '../project/model.js';
import { stringify } from 'yaml';
import { activeOnly } from '../project/profiles.js';
import { UsageError } from './errors.js';
import { loadTargetWithSource, type LoadedTarget, type TargetOptions, withTargetOptions } from './target.js';

// `corral config`, as `docker compose config`: the project as Corral reads it, once its files are
// merged (-f given again, COMPOSE_FILE, the override file) and interpolated, with its name; services
// (or pods) of inactive profiles left out. The project is loaded in full first, so a file Corral would
// refuse is refused here too, at its line. `--services`, `--volumes` and `--profiles` list names.

interface ConfigOptions extends TargetOptions {
  readonly services?: boolean;
  readonly volumes?: boolean;
  readonly profiles?: boolean;
  readonly format?: string;
  /** `--hash "*"` or `--hash web,db`: each container's configuration hash, what decides a recreate. */
  readonly hash?: string;
}

/**
 * `--hash`: `pod/container hash` lines (compose prints `service hash`) for the pods named, or all
 * with `*`; the hash `up` compares with the running container's to decide a recreate.
 */
async function hashLines(project: Project, which: string): Promise<string[]> {
  const { configHash } = await import('../plan/hash.js');
  const wanted = which === '*' ? undefined : new Set(which.split(',').map((name) => name.trim()).filter(Boolean));
  const unknown = [...(wanted ?? [])].filter((name) => !project.pods.some((pod) => pod.name === name));
  if (unknown.length > 0) throw new UsageError(`config --hash: no pod (service) ${unknown.join(', ')}`, `choose from ${project.pods.map((pod) => pod.name).join(', ')}, or "*" for all`);
  return project.pods.filter((pod) => !wanted || wanted.has(pod.name)).flatMap((pod) => pod.containers.map((container) => `${pod.name}/${container.name} ${configHash(container, pod)}`));
}

type Raw = Record<string, unknown>;

const FORMATS = ['yaml', 'json'] as const;

const isMapping = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The document as it is run: its name the project's, without what inactive profiles leave out. */
function documentOf({ project, source, profiles }: LoadedTarget): Raw {
  const data = isMapping(source.data) ? source.data : {};
  const runs = source.format === 'compose' ? 'services' : 'pods';
  const { name: _written, ...rest } = data;
  return { name: project.name, ...rest, ...(isMapping(data[runs]) ? { [runs]: activeOnly(data[runs], profiles) } : {}) };
}

/** What `--services`, `--volumes` or `--profiles` asks for: names, sorted. */
function namesOf(document: Raw, loaded: LoadedTarget, options: ConfigOptions): string[] | undefined {
  const runs = loaded.source.format === 'compose' ? 'services' : 'pods';
  const keys = (value: unknown) => (isMapping(value) ? Object.keys(value) : []);
  if (options.services) return keys(document[runs]).sort();
  if (options.volumes) return keys(document.volumes).sort();
  if (!options.profiles) return undefined;
  const all = isMapping(loaded.source.data) ? loaded.source.data[runs] : undefined;
  const named = Object.values(isMapping(all) ? all : {}).flatMap((entry) => (isMapping(entry) && Array.isArray(entry.profiles) ? entry.profiles.map(String) : []));
  return [...new Set(named)].sort();
}

async function runConfig(options: ConfigOptions): Promise<void> {
  const format = options.format ?? 'yaml';
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`config --format ${format} is not a format Corral prints`, `use one of ${FORMATS.join(', ')}`);
  if ([options.services, options.volumes, options.profiles].filter(Boolean).length > 1) throw new UsageError('config takes one of --services, --volumes and --profiles', 'ask for one list at a time');
  const loaded = await loadTargetWithSource(options);
  if (options.hash !== undefined) {
    process.stdout.write((await hashLines(loaded.project, options.hash)).map((line) => `${line}\n`).join(''));
    return;
  }
  if (loaded.source.format === 'kube') throw new UsageError(`${loaded.project.file} is a set of Kubernetes manifests; config prints compose and Corral project files`, 'use corral validate to check it');
  const document = documentOf(loaded);
  const names = namesOf(document, loaded, options);
  if (names) process.stdout.write(format === 'json' ? `${JSON.stringify(names, null, 2)}\n` : names.map((name) => `${name}\n`).join(''));
  else process.stdout.write(format === 'json' ? `${JSON.stringify(document, null, 2)}\n` : stringify(document, { lineWidth: 0 }));
}

export function registerConfig(program: Command): void {
  withTargetOptions(program
    .command('config')
    .description('print the project as Corral reads it: its files merged and interpolated, as docker compose config')
    .option('--services', 'print the names of the services (pods of a Corral file), one a line')
    .option('--volumes', 'print the names of the volumes, one a line')
    .option('--profiles', 'print the profiles the services name, one a line')
    .option('--hash <pods>', 'print each container\'s configuration hash (what decides a recreate) for these pods, comma-separated, or "*"')
    .option('--format <format>', `yaml or json (default: yaml)`))
    .action(async (_options: unknown, command: Command) => runConfig(command.optsWithGlobals()));
}
