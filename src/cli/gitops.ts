import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { dirsFromEnvironment } from '../state/paths.js';
import { setExplainedExitCode, UsageError } from './errors.js';

// `corral gitops`: apply project files from a git branch at each new commit (polling, and a signed
// push webhook), or once (`--once`, for CI and cron); `corral gitops status` says what runs.

interface GitopsOptions {
  readonly repo?: string;
  readonly branch: string;
  readonly path: string[];
  readonly interval: string;
  readonly once?: boolean;
  readonly listen?: string;
  readonly secretFile?: string;
  readonly tlsVerify?: string;
  readonly format?: 'text' | 'json';
}

const print = (line: string): void => {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
};

/** Which repository the options name: a URL as given, a local path made absolute (the state is keyed by it). */
function repositoryOf(repo: string): string {
  return /^[a-z]+:\/\//.test(repo) || repo.includes('@') ? repo : path.resolve(repo);
}

async function showStatus(options: GitopsOptions, stateDir: string): Promise<void> {
  const [{ listGitopsStates }, { formatGitopsStatus }] = await Promise.all([import('../gitops/state.js'), import('../gitops/status.js')]);
  const repo = options.repo && repositoryOf(options.repo);
  // The branch has a default; it narrows only together with --repo, which it belongs to.
  const states = (await listGitopsStates(stateDir)).filter((state) => !repo || (state.repo === repo && state.branch === options.branch));
  if (states.length === 0) throw new UsageError(repo ? `nothing was applied from ${repo} ${options.branch}` : 'nothing was applied by corral gitops on this host', 'run corral gitops --repo ... first');
  process.stdout.write(options.format === 'json' ? `${JSON.stringify(states, null, 2)}\n` : `${formatGitopsStatus(states)}\n`);
}

async function runGitops(action: string | undefined, options: GitopsOptions): Promise<void> {
  const stateDir = dirsFromEnvironment().state;
  if (action === 'status') return showStatus(options, stateDir);
  if (!options.repo) throw new UsageError('no repository given', 'add --repo URL (or a local path)');
  const repo = repositoryOf(options.repo);
  const [{ gitopsPass }, { coalesce }, { parseDuration }] = await Promise.all([
    import('../gitops/pass.js'), import('../coalesce.js'), import('../project/lifecycle.js'),
  ]);
  if (action !== undefined) throw new UsageError(`unknown gitops action '${action}'`, 'use `corral gitops status`, or no action to run');
  const source = { repo, branch: options.branch, paths: options.path.length > 0 ? options.path : ['corral.yaml'], stateDir, tlsVerify: options.tlsVerify !== 'false', onLine: print };
  if (options.once) {
    const outcome = await gitopsPass(source);
    if (outcome.known) print(`commit ${outcome.commit.slice(0, 12)} failed before and is not tried again: ${outcome.error}`);
    if (outcome.error) setExplainedExitCode(1);
    else if (!outcome.applied) print(`commit ${outcome.commit.slice(0, 12)} is already applied`);
    return;
  }
  let first = true;
  const passes = coalesce(async () => {
    const outcome = await gitopsPass(source).catch((error: Error) => print(`gitops: ${error.message}`));
    if (first && outcome) print(`following ${options.branch} of ${repo}, at commit ${outcome.commit.slice(0, 12)}`);
    first = false;
  }, { quietMs: 50 });
  passes.poke();
  const poller = setInterval(() => passes.poke(), parseDuration(options.interval));
  let server: import('node:http').Server | undefined;
  if (options.listen) {
    if (!options.secretFile) throw new UsageError('--listen needs --secret-file', 'give the file holding the webhook secret');
    const secret = (await readFile(options.secretFile, 'utf8')).trim();
    if (!secret) throw new UsageError(`the secret file ${options.secretFile} is empty`, 'put the webhook secret in it');
    const [host, port] = options.listen.split(':') as [string, string];
    const { serveWebhook } = await import('../gitops/webhook.js');
    server = await serveWebhook({ host, port: Number(port), secret: Buffer.from(secret), branch: options.branch, onLine: print, onPush: (delivery) => {
      print(`webhook: push ${delivery}`);
      passes.poke();
    } });
    print(`webhook listening on ${options.listen}`);
  }
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  clearInterval(poller);
  server?.close();
  passes.stop();
  await passes.idle();
}

export function registerGitops(program: Command): void {
  program
    .command('gitops')
    .argument('[action]', '`status`: per repository and branch (all, or --repo\'s), what was applied, when, and the last error')
    .description('apply project files from a git branch at each new commit (poll and/or signed webhook)')
    .option('--repo <url>', 'repository URL or local path')
    .option('--branch <branch>', 'branch to follow', 'main')
    .option('--path <file>', 'project file in the repository (repeat for several projects)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--interval <duration>', 'how often to fetch', '30s')
    .option('--once', 'apply the branch\'s commit once and exit (for CI and cron)')
    .option('--listen <host:port>', 'also apply at once on a signed push webhook')
    .option('--secret-file <file>', 'the webhook secret (HMAC-SHA256)')
    .option('--tls-verify <bool>', 'false: pull images over plain HTTP', 'true')
    .option('--format <format>', 'status as text or json', 'text')
    .action(async (action: string | undefined, options: GitopsOptions) => runGitops(action, options));
}
