import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { corralProject } from './projects.js';
import { summarise, type Figure } from './stats.js';

// Watch latency: from an editor's save of the project file (temp file renamed over it) that changes
// one container's env, to the new container's process running, as seen from outside: the container
// writes its CHANGED value into a bind-mounted dir when it starts, and the benchmark polls that file.
// `corral watch` runs throughout, as a user would leave it; each save is one sample.

export interface WatchLatencyOptions {
  readonly cli: string;
  readonly env: Record<string, string>;
  /** A directory of the benchmark's own for the project file and the marker. */
  readonly dir: string;
  readonly rootfs: string;
  readonly pods: number;
  readonly runs: number;
}

const POLL_MS = 2;
const SETTLE_TIMEOUT_MS = 60_000;

/** Polls until `probe` is true; bounded in time (and so in count). */
async function until(probe: () => Promise<boolean>, what: string, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

export async function measureWatchLatency(options: WatchLatencyOptions): Promise<Figure> {
  const file = path.join(options.dir, 'corral.yaml');
  const markers = path.join(options.dir, 'markers');
  const marker = path.join(markers, 'started');
  await mkdir(markers, { recursive: true });
  const save = async (changed: string) => {
    const temporary = `${file}.swp`;
    await writeFile(temporary, corralProject({ pods: options.pods, changed, startMarkerDir: markers }, options.rootfs));
    await rename(temporary, file);
  };
  const markerSays = async (value: string) => (await readFile(marker, 'utf8').catch(() => '')).trim() === value;

  await save('run-0');
  const watch = execa(process.execPath, [options.cli, '-f', file, '-p', 'bench', 'watch'], { env: options.env, stdin: 'ignore', reject: false, timeout: 600_000, forceKillAfterDelay: 120_000 });
  let output = '';
  watch.stdout!.on('data', (chunk) => (output += chunk));
  const applies = () => (output.match(/\[watch\] applied at/g) ?? []).length;
  try {
    await until(async () => output.includes('[watch] watching') && (await markerSays('run-0')), 'watch to start');
    const samples: number[] = [];
    for (let run = 1; run <= options.runs; run++) {
      const appliedBefore = applies();
      const start = process.hrtime.bigint();
      await save(`run-${run}`);
      await until(() => markerSays(`run-${run}`), `the container of save ${run} to run`);
      samples.push(Number(process.hrtime.bigint() - start) / 1e9);
      // The next save starts from a settled watch, not in the middle of this apply.
      await until(async () => applies() > appliedBefore, `the apply of save ${run} to finish`);
    }
    return summarise(samples);
  } catch (error) {
    throw new Error(`${(error as Error).message}; corral watch said:\n${output.split('\n').slice(-15).join('\n')}`);
  } finally {
    watch.kill('SIGTERM');
    const ended = await watch;
    if (ended.exitCode !== 0) process.stderr.write(`bench: corral watch ended with ${ended.exitCode ?? ended.signal}: ${String(ended.stderr).trim()}\n`);
  }
}
