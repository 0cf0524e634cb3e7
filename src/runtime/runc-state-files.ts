import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { byCodeUnits } from '../code-unit-order.js';
import { readProcStat } from './proc-stat.js';

// `runc list` is a Go process that reads every container's state file: ~70 ms for 100 containers,
// paid by every `ps`, every `up` and every 2 s poll of the supervisor. runc keeps one
// `<root>/<id>/state.json` per container, written atomically; this reads them the way `runc list`
// does and decides the status as libcontainer's runType() does: stopped unless the init process
// still runs with the recorded start time (a zombie is stopped), created while the exec fifo is
// there, paused while its freezer says frozen, running otherwise. Only runc's format is known here (crun keeps another): a file that does
// not look as expected returns undefined, and the caller asks `runc list` instead.
// The reads are synchronous on purpose: these are small files on tmpfs and procfs, and 100 of them
// read through the thread pool (open, stat, read, close, each a round trip) took ~30 ms, not ~5 ms.

/** What `runc state` reports. `annotations` carry Corral's own labels (hash, pod, container). */
export interface RuncState {
  readonly id: string;
  readonly pid: number;
  readonly status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  readonly bundle: string;
  readonly created: string;
  readonly annotations?: Record<string, string>;
}

interface StateFile {
  readonly id: string;
  readonly init_process_pid: number;
  readonly init_process_start: number | string;
  readonly created: string;
  readonly config: { readonly labels?: readonly string[] };
  /** The container's cgroup per controller (v1), or under "" (v2). */
  readonly cgroup_paths?: Readonly<Record<string, string>>;
}

function isStateFile(value: unknown): value is StateFile {
  const state = value as StateFile;
  return typeof state === 'object' && state !== null && typeof state.id === 'string' && typeof state.init_process_pid === 'number'
    && (typeof state.init_process_start === 'number' || typeof state.init_process_start === 'string')
    && typeof state.created === 'string' && typeof state.config === 'object' && state.config !== null
    && (state.config.labels === undefined || Array.isArray(state.config.labels));
}

function statusOf(dir: string, state: StateFile): RuncState['status'] {
  const process = readProcStat(state.init_process_pid);
  if (!process || process.start !== String(state.init_process_start) || process.state === 'Z' || process.state === 'X') return 'stopped';
  if (existsSync(path.join(dir, 'exec.fifo'))) return 'created';
  return isFrozen(state) ? 'paused' : 'running';
}

/** What libcontainer's isPaused() reads: freezer.state of the v1 freezer, or cgroup.freeze on v2. */
function isFrozen(state: StateFile): boolean {
  const paths = state.cgroup_paths ?? {};
  const [file, frozen] = paths.freezer ? [path.join(paths.freezer, 'freezer.state'), 'FROZEN'] : paths[''] ? [path.join(paths[''], 'cgroup.freeze'), '1'] : [];
  if (!file) return false;
  try {
    return readFileSync(file, 'utf8').trim() === frozen;
  } catch (error) {
    // The cgroup went with the container between the two reads: not paused.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** runc keeps the bundle and the annotations as `key=value` labels of the config. */
function splitLabels(labels: readonly string[] = []): { bundle: string; annotations: Record<string, string> } {
  const annotations: Record<string, string> = {};
  let bundle = '';
  for (const label of labels) {
    const equals = label.indexOf('=');
    if (equals < 0) continue;
    const [key, value] = [label.slice(0, equals), label.slice(equals + 1)];
    if (key === 'bundle') bundle = value;
    else annotations[key] = value;
  }
  return { bundle, annotations };
}

/** One container's state as `runc list` reports it; null when runc itself would skip it; undefined when the format is unknown. */
/**
 * The seccomp profile is ~29 KB of a ~33 KB state file, and nothing here reads it: 100 containers'
 * profiles cost a `ps` more to parse and collect than Node takes to start. runc writes the config's
 * fields in a fixed order (libcontainer's configs.Config), `"seccomp"` just before
 * `"no_new_privileges"`; both keys, quotes unescaped, can only be structure, never inside a string.
 * The text without the profile's value is parsed; the caller parses the whole file when that fails.
 */
const SECCOMP_KEY = Buffer.from(',"seccomp":');
const AFTER_SECCOMP_KEY = Buffer.from(',"no_new_privileges":');

function withoutSeccompProfile(bytes: Buffer): string | undefined {
  const start = bytes.indexOf(SECCOMP_KEY);
  const end = start < 0 ? -1 : bytes.indexOf(AFTER_SECCOMP_KEY, start);
  return end < 0 ? undefined : bytes.toString('utf8', 0, start) + bytes.toString('utf8', end);
}

function parsedStateFile(bytes: Buffer): unknown {
  const short = withoutSeccompProfile(bytes);
  if (short !== undefined) {
    try {
      const parsed: unknown = JSON.parse(short);
      if (isStateFile(parsed)) return parsed;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      // Not the order expected: the whole file is parsed below.
    }
  }
  return JSON.parse(bytes.toString('utf8'));
}

function readOne(root: string, id: string): RuncState | null | undefined {
  const dir = path.join(root, id);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path.join(dir, 'state.json'));
  } catch (error) {
    // Not a container dir, or one whose create has not written its state yet: runc list skips both.
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? null : undefined;
  }
  let parsed: unknown;
  try {
    parsed = parsedStateFile(bytes);
  } catch {
    // Not for us to judge: `runc list` is asked instead, and says what it makes of this file.
    return undefined;
  }
  if (!isStateFile(parsed) || parsed.id !== id) return undefined;
  const status = statusOf(dir, parsed);
  const { bundle, annotations } = splitLabels(parsed.config.labels);
  return { id, pid: status === 'stopped' ? 0 : parsed.init_process_pid, status, bundle, created: parsed.created, annotations };
}

/** One container's state as `runc state` would report it: null when there is none, undefined when only runc can tell. */
export function readRuncStateFile(root: string, id: string): RuncState | null | undefined {
  return readOne(root, id);
}

/** Every container under a runc root, as `runc list` would report it, or undefined when only runc can tell. */
export function readRuncStateFiles(root: string): RuncState[] | undefined {
  let ids: string[];
  try {
    ids = readdirSync(root);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? [] : undefined;
  }
  const states = ids.map((id) => readOne(root, id));
  if (states.includes(undefined)) return undefined;
  return states.filter((state): state is RuncState => state !== null && state !== undefined).sort((a, b) => byCodeUnits(a.id, b.id));
}
