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
import { measureWaitLatency, type WaitFigures } from './wait.js';
import { CheckpointRefused, measureWarmStart, WARM_UP_S, type WarmStartFigures } from './warm-start.js';
import { idleNodeRss, pairedWithNodeStart, peakRssOf, SETTLE_BEFORE_RSS_MS, type PairedFigure } from './node-floor.js';
import { QUIET_MS } from '../src/coalesce.js';

// `npm run bench`: Corral against the raw conmon + runc floor and against podman, in one run on one
// machine. Every figure is the median of BENCH_RUNS runs (default 5) with min and max; ratios are
// against the floor of the same run: conmon + runc for up and down, a bare Node start for the
// read-only commands, an idle bare Node process's RSS for the supervisor. Writes a table to stdout,
// bench/results/latest.json and bench/results/up-down.svg. BENCH_PARTS (default all: updown,bridge,
// apply,ps,watch,wait,supervisor,restore) runs some of the parts only; BENCH_PROJECT_PODS (default 50) and
// BENCH_PROJECTS (default 10) size the running projects that apply, ps and supervisor measure, so
// that those parts can be tried at a small size.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/bin/corral.js');
const runs = Number(process.env.BENCH_RUNS ?? 5);
const sizes = (process.env.BENCH_SIZES ?? '1,10,50').split(',').map(Number);
const rootfs = process.env.CORRAL_ROOTFS ?? '/var/lib/corral/rootfs/busybox';
const podmanImage = 'localhost/corral-bench-busybox:latest';
const PARTS = ['updown', 'bridge', 'apply', 'ps', 'watch', 'wait', 'supervisor', 'restore'] as const;
const projectPods = Number(process.env.BENCH_PROJECT_PODS ?? 50);
const projectCount = Number(process.env.BENCH_PROJECTS ?? 10);
const parts = new Set((process.env.BENCH_PARTS ?? PARTS.join(',')).split(','));
for (const part of parts) if (!(PARTS as readonly string[]).includes(part)) throw new Error(`BENCH_PARTS: no part ${part} (parts: ${PARTS.join(', ')})`);

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
  /** Against a bare Node start, pair by pair, as the read-only commands below. */
  noopApply50?: PairedFigure;
  oneChange50?: Figure;
  onePodUp?: Figure;
  ps100?: PairedFigure;
  ls?: PairedFigure;
  /** `logs` of a stopped container. */
  logsStopped?: PairedFigure;
  cliPeakRssMb?: number;
  /** Save of the project file to the changed container running, under `corral watch`. */
  watchLatency1?: Figure;
  watchLatency50?: Figure;
  /** `up --wait` on a chain of three service_healthy dependencies. */
  waitChain?: WaitFigures;
  /** The supervisor's peak RSS for 1 pod and for 50, an idle bare Node process's beside each. */
  supervisorRss?: { pods: number; supervisorMb: number; idleNodeMb: number }[];
  /** The supervisors of 10 projects of 5 pods each, their peak RSS added up. */
  supervisorRss10x5Mb?: number;
  /** 50 pods on the project bridge (CNI bridge, host-local, portmap, firewall per pod). */
  /** Up and down of 50 pods with loopback only, on one project network and on two, run in turns. */
  loopbackUp50?: Figure;
  loopbackDown50?: Figure;
  bridgeUp50?: Figure;
  bridgeDown50?: Figure;
  twoNetworksUp50?: Figure;
  twoNetworksDown50?: Figure;
  /** A service that warms up for WARM_UP_S: cold start against restore from a checkpoint; or why CRIU refused. */
  warmStart?: WarmStartFigures | { refused: string };
}

/** The supervisor's peak RSS (VmHWM) with the project up, from the pid it records. */
async function supervisorPeakRss(sandbox: Sandbox, project: string): Promise<number> {
  const { pid } = JSON.parse(await readFile(path.join(sandbox.env.CORRAL_STATE_DIR!, 'projects', project, 'machines.json'), 'utf8')) as { pid: number };
  const rss = await peakRssOf(pid);
  if (rss === undefined) throw new Error(`the supervisor of ${project} (pid ${pid}) is not running`);
  return rss;
}

const settleBeforeRss = () => new Promise((resolve) => setTimeout(resolve, SETTLE_BEFORE_RSS_MS));

/** Up -d of `projects` projects of `pods` pods each; their supervisors' peak RSS, after they settled; down. */
async function supervisorsRss(projects: number, pods: number): Promise<number[]> {
  const sandbox = await corralSandbox();
  const names = Array.from({ length: projects }, (_, index) => `bench${index + 1}`);
  try {
    await writeProject(sandbox, { pods });
    for (const name of names) await corral(sandbox, ['-f', path.join(sandbox.dir, 'corral.yaml'), '-p', name, 'up', '-d']);
    await settleBeforeRss();
    return await Promise.all(names.map((name) => supervisorPeakRss(sandbox, name)));
  } finally {
    for (const name of names) await corral(sandbox, ['-p', name, 'down']);
    await removeSandbox(sandbox);
  }
}

async function main(): Promise<void> {
  const results: Results = {
    machine: { cores: os.cpus().length, kernel: (await execa('uname', ['-r'])).stdout, date: new Date().toISOString(), runs, loadBefore: os.loadavg()[0]! },
    upDown: [],
  };
  const podmanEnv = process.env.BENCH_PODMAN === '0' || !parts.has('updown') ? undefined : await podmanReady();

  for (const pods of parts.has('updown') ? sizes : []) {
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

  // Loopback only, one project network and two, in turns within each run, so that each ratio is of one moment of the machine.
  if (parts.has('bridge')) {
    const byNetwork = { none: [] as { up: number; down: number }[], bridge: [] as { up: number; down: number }[], two: [] as { up: number; down: number }[] };
    for (let run = 0; run < runs; run++) {
      for (const network of ['none', 'bridge', 'two'] as const) byNetwork[network].push(await corralUpDown(50, network));
    }
    results.loopbackUp50 = summarise(byNetwork.none.map((run) => run.up));
    results.loopbackDown50 = summarise(byNetwork.none.map((run) => run.down));
    results.bridgeUp50 = summarise(byNetwork.bridge.map((run) => run.up));
    results.bridgeDown50 = summarise(byNetwork.bridge.map((run) => run.down));
    results.twoNetworksUp50 = summarise(byNetwork.two.map((run) => run.up));
    results.twoNetworksDown50 = summarise(byNetwork.two.map((run) => run.down));
  }

  // No-op apply and one change, on a running project of 50 pods (BENCH_PROJECT_PODS).
  if (parts.has('apply')) {
    const sandbox = await corralSandbox();
    const file = await writeProject(sandbox, { pods: projectPods });
    await corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']);
    await settle();
    results.noopApply50 = await pairedWithNodeStart(runs, () => corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']));
    results.oneChange50 = await sample(runs, async (run) => {
      await writeFile(file, corralProject({ pods: projectPods, changed: `run-${run}` }, rootfs));
      return seconds(() => corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']));
    });
    results.cliPeakRssMb = await peakRss(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']);
    await corral(sandbox, ['-p', 'bench', 'down']);
    await removeSandbox(sandbox);
  }

  // ps with 100 containers (50 pods of two), ls, and logs of one container once it is stopped.
  if (parts.has('ps')) {
    const sandbox = await corralSandbox();
    const file = await writeProject(sandbox, { pods: projectPods, containersPerPod: 2 });
    await corral(sandbox, ['-f', file, '-p', 'bench', 'up', '-d']);
    await settle();
    results.ps100 = await pairedWithNodeStart(runs, () => corral(sandbox, ['-p', 'bench', 'ps']));
    results.ls = await pairedWithNodeStart(runs, () => corral(sandbox, ['ls']));
    await corral(sandbox, ['-p', 'bench', 'stop', 'p1']);
    results.logsStopped = await pairedWithNodeStart(runs, () => corral(sandbox, ['-p', 'bench', 'logs', 'p1/c1']));
    await corral(sandbox, ['-p', 'bench', 'down']);
    await removeSandbox(sandbox);
  }

  for (const pods of parts.has('watch') ? [1, 50] as const : []) {
    const watchSandbox = await corralSandbox();
    const latency = await measureWatchLatency({ cli, env: watchSandbox.env, dir: watchSandbox.dir, rootfs, pods, runs });
    if (pods === 1) results.watchLatency1 = latency;
    else results.watchLatency50 = latency;
    await removeSandbox(watchSandbox);
  }

  if (parts.has('wait')) {
    const waitSandbox = await corralSandbox();
    results.waitChain = await measureWaitLatency({ cli, env: waitSandbox.env, dir: waitSandbox.dir, rootfs, runs });
    await removeSandbox(waitSandbox);
  }

  // Each supervisor beside an idle bare Node process measured right after it, after as long a wait.
  if (parts.has('supervisor')) {
    results.supervisorRss = [];
    for (const pods of [1, projectPods]) {
      const [supervisorMb] = await supervisorsRss(1, pods);
      results.supervisorRss.push({ pods, supervisorMb: supervisorMb!, idleNodeMb: await idleNodeRss() });
    }
    results.supervisorRss10x5Mb = (await supervisorsRss(projectCount, 5)).reduce((total, rss) => total + rss, 0);
  }

  // Where CRIU does not work with the kernel (this project's hosts), checkpoint is refused: the row says why.
  if (parts.has('restore')) {
    const sandbox = await corralSandbox();
    try {
      results.warmStart = await measureWarmStart({ cli, env: sandbox.env, dir: path.join(sandbox.dir, 'warm'), rootfs, runs });
    } catch (error) {
      if (!(error instanceof CheckpointRefused)) throw error;
      results.warmStart = { refused: error.message };
    }
    await removeSandbox(sandbox);
  }

  results.onePodUp = results.upDown.find((row) => row.pods === 1)?.corralUp;
  results.machine.loadAfter = os.loadavg()[0]!;
  await report(results);
}

const targetMet = (met: boolean | undefined) => (met === undefined ? '' : met ? ' (met)' : ' (missed)');
const times = (ratio: number | undefined) => (ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}x`);

/** A read-only command's row: its time, the bare Node start's, and the median of their ratios pair by pair. */
function nodeStartRow(name: string, figure: PairedFigure | undefined): string {
  if (!figure) return `| ${name} | n/a | ≤ 1.5x a bare Node start |`;
  return `| ${name} | ${times(figure.ratio.median)} (${formatSeconds(figure.command)}; node -e 0 ${formatSeconds(figure.nodeStart)}) | ≤ 1.5x a bare Node start${targetMet(figure.ratio.median <= 1.5)} |`;
}

async function report(results: Results): Promise<void> {
  const lines = ['| pods | floor up | corral up | podman up | corral/floor | podman/corral | floor down | corral down | podman down | corral/floor |', '|---|---|---|---|---|---|---|---|---|---|'];
  const ratio = (a?: Figure, b?: Figure) => (a && b ? a.median / b.median : undefined);
  for (const row of results.upDown) {
    lines.push(`| ${row.pods} | ${formatSeconds(row.floorUp)} | ${formatSeconds(row.corralUp)} | ${formatSeconds(row.podmanUp)} | ${times(ratio(row.corralUp, row.floorUp))} | ${times(ratio(row.podmanUp, row.corralUp))} | ${formatSeconds(row.floorDown)} | ${formatSeconds(row.corralDown)} | ${formatSeconds(row.podmanDown)} | ${times(ratio(row.corralDown, row.floorDown))} |`);
  }
  const one = results.upDown.find((row) => row.pods === 1);
  const fifty = results.upDown.find((row) => row.pods === 50);
  const podmanRows = results.upDown.filter((row) => row.podmanUp);
  const slowestPodman = podmanRows.length > 0 ? Math.min(...podmanRows.map((row) => ratio(row.podmanUp, row.corralUp)!)) : undefined;
  lines.push('', '| measure | value | target |', '|---|---|---|');
  lines.push(`| up of 1 pod against the floor | ${times(ratio(one?.corralUp, one?.floorUp))} | ≤ 2.5x${targetMet(one && ratio(one.corralUp, one.floorUp)! <= 2.5)} |`);
  lines.push(`| down of 1 pod against the floor | ${times(ratio(one?.corralDown, one?.floorDown))} | ≤ 2x${targetMet(one && ratio(one.corralDown, one.floorDown)! <= 2)} |`);
  lines.push(`| podman kube play against corral up, slowest of ${podmanRows.map((row) => row.pods).join(', ') || 'no'} pods | ${times(slowestPodman)} | > 1x at every size${targetMet(slowestPodman === undefined ? undefined : slowestPodman > 1)} |`);
  lines.push(`| up of 50 pods against the floor | ${times(ratio(fifty?.corralUp, fifty?.floorUp))} | ≤ 1.0x${targetMet(fifty && ratio(fifty.corralUp, fifty.floorUp)! <= 1)} |`);
  lines.push(`| down of 50 pods against the floor | ${times(ratio(fifty?.corralDown, fifty?.floorDown))} | ≤ 1.2x${targetMet(fifty && ratio(fifty.corralDown, fifty.floorDown)! <= 1.2)} |`);
  lines.push(nodeStartRow(`no-op apply, ${projectPods} pods`, results.noopApply50));
  lines.push(nodeStartRow(`ps, ${2 * projectPods} containers`, results.ps100));
  lines.push(nodeStartRow('ls', results.ls));
  lines.push(nodeStartRow('logs of a stopped container', results.logsStopped));
  const onePod = results.onePodUp?.median;
  lines.push(`| one changed container, ${projectPods} pods | ${formatSeconds(results.oneChange50)} | < 2x one pod's up${onePod ? ` (${(2 * onePod).toFixed(3)} s)` : ''}${targetMet(results.oneChange50 && onePod ? results.oneChange50.median < 2 * onePod : undefined)} |`);
  const watchBound = onePod === undefined ? undefined : QUIET_MS / 1000 + 1.5 * onePod;
  lines.push(`| watch: save to changed container running, 1 pod | ${formatSeconds(results.watchLatency1)} | ≤ quiet period + 1.5x one pod's up${watchBound ? ` (${watchBound.toFixed(3)} s)` : ''}${targetMet(results.watchLatency1 && watchBound ? results.watchLatency1.median <= watchBound : undefined)} |`);
  lines.push(`| watch: save to changed container running, 50 pods | ${formatSeconds(results.watchLatency50)} | |`);
  const chain = results.waitChain;
  lines.push(`| up --wait, chain of 3 service_healthy pods: from the last one ready to --wait returning | ${formatSeconds(chain?.afterLastReady)}${chain ? ` (whole up --wait ${formatSeconds(chain.total)})` : ''} | ≤ one probe interval${chain ? ` (${chain.probeIntervalS} s)${targetMet(chain.afterLastReady.median <= chain.probeIntervalS)}` : ''} |`);
  lines.push(`| CLI peak RSS, up of ${projectPods} pods | ${results.cliPeakRssMb ? `${results.cliPeakRssMb.toFixed(1)} MB` : 'n/a'} | |`);
  for (const row of results.supervisorRss ?? []) {
    const rss = row.supervisorMb / row.idleNodeMb;
    lines.push(`| supervisor peak RSS, ${row.pods} pod${row.pods === 1 ? '' : 's'} | ${times(rss)} (${row.supervisorMb.toFixed(1)} MB; idle node ${row.idleNodeMb.toFixed(1)} MB) | ≤ 1.3x an idle bare Node process${targetMet(rss <= 1.3)} |`);
  }
  lines.push(`| supervisors' peak RSS, ${projectCount} projects of 5 pods | ${results.supervisorRss10x5Mb ? `${results.supervisorRss10x5Mb.toFixed(1)} MB` : 'n/a'} | |`);
  const warm = results.warmStart;
  if (warm && 'refused' in warm) lines.push(`| time to ready, ${WARM_UP_S} s warm-up: cold / restored | not measured: ${warm.refused.replace(/\|/g, '/').split('\n')[0]} | restored < cold |`);
  else if (warm) lines.push(`| time to ready, ${WARM_UP_S} s warm-up: cold / restored (checkpoint) | ${formatSeconds(warm.cold)} / ${formatSeconds(warm.restored)} (${formatSeconds(warm.checkpoint)})${warm.warmedAgainAfterRestore ? ', warmed up again after a restore!' : ''} | restored < cold${targetMet(warm.restored.median < warm.cold.median)} |`);
  const againstLoopback = (figure: Figure | undefined, loopback: Figure | undefined, bound: number) => {
    if (!figure || !loopback) return `${formatSeconds(figure)} | ≤ ${bound}x loopback only`;
    const ratio = figure.median / loopback.median;
    return `${times(ratio)} (${formatSeconds(figure)}; loopback only ${formatSeconds(loopback)}) | ≤ ${bound}x loopback only${targetMet(ratio <= bound)}`;
  };
  lines.push(`| up of 50 pods on one project network | ${againstLoopback(results.bridgeUp50, results.loopbackUp50, 1.25)} |`);
  lines.push(`| down of 50 pods on one project network | ${againstLoopback(results.bridgeDown50, results.loopbackDown50, 1.25)} |`);
  lines.push(`| up of 50 pods, each on two networks | ${againstLoopback(results.twoNetworksUp50, results.loopbackUp50, 1.5)} |`);
  lines.push(`| down of 50 pods, each on two networks | ${againstLoopback(results.twoNetworksDown50, results.loopbackDown50, 1.5)} |`);
  const outDir = path.join(root, 'bench/results');
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  if (results.upDown.length > 0) await writeFile(path.join(outDir, 'up-down.svg'), renderChart(results.upDown));
  process.stdout.write(`${lines.join('\n')}\n\nload average (1 min) before ${results.machine.loadBefore.toFixed(2)}, after ${results.machine.loadAfter?.toFixed(2)}\n`);
}

await main();
