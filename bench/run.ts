import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { corralProject, kubernetesManifest, type Workload } from './projects.js';
import { formatSeconds, summarise, type Figure } from './stats.js';
import { renderChart } from './chart.js';
import { measureWatchLatency } from './watch.js';

// `npm run bench`: Corral against the raw conmon + runc floor and against podman, in one run on one
// machine. Every figure is the median of BENCH_RUNS runs (default 5) with min and max; ratios are
// against the floor of the same run. Writes a table to stdout, bench/results/latest.json and
// bench/results/up-down.svg.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/bin/corral.js');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const sizes = (process.env.BENCH_SIZES ?? '1,10,50').split(',').map(Number);
const rootfs = process.env.CORRAL_ROOTFS ?? '/var/lib/corral/rootfs/busybox';
const podmanImage = 'localhost/corral-bench-busybox:latest';

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function sample(count: number, work: (run: number) => Promise<number>): Promise<Figure> {
  const samples: number[] = [];
  for (let run = 0; run < count; run++) samples.push(await work(run));
  return summarise(samples);
}

interface Sandbox { dir: string; env: Record<string, string> }

async function corralSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp('/var/tmp/corral-bench-');
  return { dir, env: { CORRAL_RUN_DIR: path.join('/run', path.basename(dir)), CORRAL_STATE_DIR: path.join(dir, 'state') } };
}

async function removeSandbox(sandbox: Sandbox): Promise<void> {
  await rm(sandbox.env.CORRAL_RUN_DIR!, { recursive: true, force: true });
  await rm(sandbox.dir, { recursive: true, force: true });
}

/**
 * Right after `up -d`, the new supervisor spends a few seconds taking over every container (machines,
 * log followers, a first observation): the commands a user types into a running project are measured
 * once it has.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 3000));
}

async function corral(sandbox: Sandbox, args: string[]) {
  return execa(process.execPath, [cli, ...args], { env: sandbox.env, stdin: 'ignore' });
}

async function writeProject(sandbox: Sandbox, workload: Workload): Promise<string> {
  const file = path.join(sandbox.dir, 'corral.yaml');
  await writeFile(file, corralProject(workload, rootfs));
  return file;
}

async function floor(pods: number): Promise<{ up: number; down: number }> {
  const { stdout } = await execa('bash', [path.join(root, 'bench/floor.sh'), rootfs, String(pods)]);
  const [up, down] = stdout.trim().split(/\s+/).map(Number);
  return { up: up!, down: down! };
}

async function podmanReady(): Promise<Record<string, string> | undefined> {
  if (!existsSync('/usr/bin/podman')) return undefined;
  const dir = '/run/corral-bench-podman';
  await mkdir(dir, { recursive: true });
  const conf = path.join(dir, 'containers.conf');
  // The host's hard nofile and nproc limits are below podman's defaults; runc would refuse them.
  await writeFile(conf, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\n');
  const env = { CONTAINERS_CONF: conf };
  // A plain rootfs tarball has no image config: give it the PATH every image has.
  // Bounded: with pods of an interrupted run still using the image, podman rmi -f has hung for minutes.
  await execa('podman', ['rmi', '-f', podmanImage], { env, reject: false, timeout: 60_000 });
  await execa('bash', ['-c', `tar -C ${rootfs} -c . | podman import --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - ${podmanImage}`], { env });
  return env;
}

async function podmanUpDown(env: Record<string, string>, pods: number): Promise<{ up: number; down: number }> {
  const dir = await mkdtemp('/var/tmp/corral-bench-kube-');
  const manifest = path.join(dir, 'pods.yaml');
  await writeFile(manifest, kubernetesManifest({ pods }, podmanImage));
  let downDone = false;
  try {
    // Loopback only, like the floor's and Corral's pods: the comparison is of orchestration, not of CNI.
    const up = await seconds(() => execa('podman', ['kube', 'play', '--network', 'none', manifest], { env }));
    const down = await seconds(() => execa('podman', ['kube', 'down', manifest], { env }));
    downDone = true;
    return { up, down };
  } finally {
    // A failed play leaves some pods behind; they would hold the image and break the next run.
    if (!downDone) await execa('podman', ['kube', 'down', manifest], { env, reject: false, timeout: 120_000 });
    await rm(dir, { recursive: true, force: true });
  }
}

async function corralUpDown(pods: number, network: Workload['network'] = 'none'): Promise<{ up: number; down: number }> {
  const sandbox = await corralSandbox();
  const file = await writeProject(sandbox, { pods, network });
  const up = await seconds(() => corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']));
  const down = await seconds(() => corral(sandbox, ['-p', 'bench', 'down']));
  await removeSandbox(sandbox);
  return { up, down };
}

async function peakRss(sandbox: Sandbox, args: string[]): Promise<number | undefined> {
  if (!existsSync('/usr/bin/time')) return undefined;
  const result = await execa('/usr/bin/time', ['-f', '%M', process.execPath, cli, ...args], { env: sandbox.env, stdin: 'ignore' });
  const kilobytes = Number(String(result.stderr).trim().split('\n').pop());
  return kilobytes / 1024;
}

interface Results {
  /** loadBefore / loadAfter: the 1-minute load average, to tell a quiet run from a busy one. */
  machine: { cores: number; kernel: string; date: string; runs: number; loadBefore: number; loadAfter?: number };
  upDown: { pods: number; floorUp: Figure; floorDown: Figure; corralUp: Figure; corralDown: Figure; podmanUp?: Figure; podmanDown?: Figure }[];
  noopApply50?: Figure;
  oneChange50?: Figure;
  onePodUp?: Figure;
  ps100?: Figure;
  cliPeakRssMb?: number;
  /** Save of the project file to the changed container running, under `corral watch`. */
  watchLatency1?: Figure;
  watchLatency50?: Figure;
  supervisorRssMb?: number;
  /** 50 pods on the project bridge (CNI bridge, host-local, portmap, firewall per pod). */
  bridgeUp50?: Figure;
  bridgeDown50?: Figure;
}

/** The supervisor's peak RSS (VmHWM) with the project up, from the pid it records. */
async function supervisorPeakRss(sandbox: Sandbox, project: string): Promise<number | undefined> {
  try {
    const { pid } = JSON.parse(await readFile(path.join(sandbox.env.CORRAL_STATE_DIR!, 'projects', project, 'machines.json'), 'utf8')) as { pid: number };
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const results: Results = {
    machine: { cores: os.cpus().length, kernel: (await execa('uname', ['-r'])).stdout, date: new Date().toISOString(), runs, loadBefore: os.loadavg()[0]! },
    upDown: [],
  };
  const podmanEnv = process.env.BENCH_PODMAN === '0' ? undefined : await podmanReady();

  for (const pods of sizes) {
    const floorRuns: { up: number; down: number }[] = [];
    const corralRuns: { up: number; down: number }[] = [];
    const podmanRuns: { up: number; down: number }[] = [];
    for (let run = 0; run < runs; run++) {
      floorRuns.push(await floor(pods));
      corralRuns.push(await corralUpDown(pods));
      if (podmanEnv) podmanRuns.push(await podmanUpDown(podmanEnv, pods));
    }
    results.upDown.push({
      pods,
      floorUp: summarise(floorRuns.map((run) => run.up)), floorDown: summarise(floorRuns.map((run) => run.down)),
      corralUp: summarise(corralRuns.map((run) => run.up)), corralDown: summarise(corralRuns.map((run) => run.down)),
      ...(podmanEnv ? { podmanUp: summarise(podmanRuns.map((run) => run.up)), podmanDown: summarise(podmanRuns.map((run) => run.down)) } : {}),
    });
    process.stderr.write(`bench: ${pods} pods done\n`);
  }

  const bridgeRuns: { up: number; down: number }[] = [];
  for (let run = 0; run < runs; run++) bridgeRuns.push(await corralUpDown(50, 'bridge'));
  results.bridgeUp50 = summarise(bridgeRuns.map((run) => run.up));
  results.bridgeDown50 = summarise(bridgeRuns.map((run) => run.down));

  // No-op apply and one change, on a running 50-pod project.
  const sandbox = await corralSandbox();
  const file = await writeProject(sandbox, { pods: 50 });
  await corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']);
  await settle();
  results.noopApply50 = await sample(runs, () => seconds(() => corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d'])));
  results.oneChange50 = await sample(runs, async (run) => {
    await writeFile(file, corralProject({ pods: 50, changed: `run-${run}` }, rootfs));
    return seconds(() => corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']));
  });
  results.cliPeakRssMb = await peakRss(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']);
  // Let the supervisor run a few observation passes over the 50 pods before reading its peak.
  await new Promise((resolve) => setTimeout(resolve, 5000));
  results.supervisorRssMb = await supervisorPeakRss(sandbox, 'bench');
  await corral(sandbox, ['-p', 'bench', 'down']);

  // ps with 100 containers (50 pods of two).
  await writeFile(file, corralProject({ pods: 50, containersPerPod: 2 }, rootfs));
  await corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']);
  await settle();
  results.ps100 = await sample(runs, () => seconds(() => corral(sandbox, ['-p', 'bench', 'ps'])));
  await corral(sandbox, ['-p', 'bench', 'down']);
  await removeSandbox(sandbox);

  for (const pods of [1, 50] as const) {
    const watchSandbox = await corralSandbox();
    const latency = await measureWatchLatency({ cli, env: watchSandbox.env, dir: watchSandbox.dir, rootfs, pods, runs });
    if (pods === 1) results.watchLatency1 = latency;
    else results.watchLatency50 = latency;
    await removeSandbox(watchSandbox);
  }

  results.onePodUp = results.upDown.find((row) => row.pods === 1)?.corralUp;
  results.machine.loadAfter = os.loadavg()[0]!;
  await report(results);
}

async function report(results: Results): Promise<void> {
  const lines = ['| pods | floor up | corral up | podman up | corral/floor | podman/corral | floor down | corral down | podman down | corral/floor |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const row of results.upDown) {
    const ratio = (a?: Figure, b?: Figure) => (a && b ? `${(a.median / b.median).toFixed(2)}x` : 'n/a');
    lines.push(`| ${row.pods} | ${formatSeconds(row.floorUp)} | ${formatSeconds(row.corralUp)} | ${formatSeconds(row.podmanUp)} | ${ratio(row.corralUp, row.floorUp)} | ${ratio(row.podmanUp, row.corralUp)} | ${formatSeconds(row.floorDown)} | ${formatSeconds(row.corralDown)} | ${formatSeconds(row.podmanDown)} | ${ratio(row.corralDown, row.floorDown)} |`);
  }
  const fifty = results.upDown.find((row) => row.pods === 50);
  const targetMet = (met: boolean | undefined) => (met === undefined ? '' : met ? ' (met)' : ' (missed)');
  lines.push('', '| measure | value | target |', '|---|---|---|');
  lines.push(`| up of 50 pods against the floor | ${fifty ? `${(fifty.corralUp.median / fifty.floorUp.median).toFixed(2)}x` : 'n/a'} | ≤ 1.0x${targetMet(fifty && fifty.corralUp.median <= fifty.floorUp.median)} |`);
  lines.push(`| podman kube play against corral up, 50 pods | ${fifty?.podmanUp ? `${(fifty.podmanUp.median / fifty.corralUp.median).toFixed(2)}x` : 'n/a'} | ≥ 3x${targetMet(fifty?.podmanUp && fifty.podmanUp.median >= 3 * fifty.corralUp.median)} |`);
  lines.push(`| down of 50 pods against the floor | ${fifty ? `${(fifty.corralDown.median / fifty.floorDown.median).toFixed(2)}x` : 'n/a'} | ≤ 1.2x${targetMet(fifty && fifty.corralDown.median <= 1.2 * fifty.floorDown.median)} |`);
  lines.push(`| no-op apply, 50 pods | ${formatSeconds(results.noopApply50)} | < 0.3 s${targetMet(results.noopApply50 && results.noopApply50.median < 0.3)} |`);
  const onePod = results.onePodUp?.median;
  lines.push(`| one changed container, 50 pods | ${formatSeconds(results.oneChange50)} | < 2x one pod's up${onePod ? ` (${(2 * onePod).toFixed(3)} s)` : ''}${targetMet(results.oneChange50 && onePod ? results.oneChange50.median < 2 * onePod : undefined)} |`);
  lines.push(`| ps, 100 containers | ${formatSeconds(results.ps100)} | < 0.15 s${targetMet(results.ps100 && results.ps100.median < 0.15)} |`);
  lines.push(`| watch: save to changed container running, 1 pod | ${formatSeconds(results.watchLatency1)} | |`);
  lines.push(`| watch: save to changed container running, 50 pods | ${formatSeconds(results.watchLatency50)} | |`);
  lines.push(`| CLI peak RSS, up of 50 pods | ${results.cliPeakRssMb ? `${results.cliPeakRssMb.toFixed(1)} MB` : 'n/a'} | |`);
  lines.push(`| supervisor peak RSS, 50 pods | ${results.supervisorRssMb ? `${results.supervisorRssMb.toFixed(1)} MB` : 'n/a'} | < 80 MB${targetMet(results.supervisorRssMb === undefined ? undefined : results.supervisorRssMb < 80)} |`);
  lines.push(`| up / down of 50 pods on the project bridge | ${formatSeconds(results.bridgeUp50)} / ${formatSeconds(results.bridgeDown50)} | |`);
  const outDir = path.join(root, 'bench/results');
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(path.join(outDir, 'up-down.svg'), renderChart(results.upDown));
  process.stdout.write(`${lines.join('\n')}\n\nload average (1 min) before ${results.machine.loadBefore.toFixed(2)}, after ${results.machine.loadAfter?.toFixed(2)}\n`);
}

await main();
