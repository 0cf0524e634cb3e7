import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { cliEntry, corral, createSandbox, downAndAssertNothingLeaks, eventually, freePort, type Sandbox } from '../helpers/sandbox.js';

// GitOps with real containers and a git repository the test makes: --once applies the branch's
// commit; a new commit applies; a commit whose file does not validate keeps the last good one
// running and shows in status; the webhook refuses a bad signature and applies on a good one.

interface Context { sandbox: Sandbox; project: string; repo: string; child?: ResultPromise; output: string }
const gitops = suite<Context>('corral gitops');

async function git(context: Context, ...args: string[]) {
  return execa('git', ['-C', context.repo, ...args], { env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
}

async function commitProject(context: Context, message: string, text: string): Promise<string> {
  await writeFile(path.join(context.repo, 'deploy/corral.yaml'), text);
  await git(context, 'add', '-A');
  await git(context, 'commit', '-q', '-m', message);
  return (await git(context, 'rev-parse', 'HEAD')).stdout.trim();
}

const projectText = (context: Context, version: string) => `
name: ${context.project}
pods:
  web:
    containers:
      app:
        rootfs: ${context.sandbox.env.CORRAL_ROOTFS}
        command: ["sh", "-c", "echo version-$$VERSION; trap 'exit 0' TERM; while true; do sleep 0.2; done"]
        env: { VERSION: "${version}" }
`;

/** `gitops status --format json` of the suite's repository: one source. */
async function status(context: Context): Promise<Record<string, unknown>> {
  const result = await corral(context.sandbox, ['gitops', 'status', '--repo', context.repo, '--branch', 'main', '--format', 'json']);
  const sources = JSON.parse(result.stdout) as Record<string, unknown>[];
  assert.is(sources.length, 1, 'one source');
  return sources[0]!;
}

const logs = async (context: Context) => (await corral(context.sandbox, ['-p', context.project, 'logs', 'web/app'])).stdout;
const once = (context: Context) => corral(context.sandbox, ['gitops', '--repo', context.repo, '--branch', 'main', '--path', 'deploy/corral.yaml', '--once']);

gitops.before(async (context) => {
  context.sandbox = await createSandbox('gitops');
  context.project = context.sandbox.projectName('gitops');
  context.repo = path.join(context.sandbox.work, 'repo');
  context.output = '';
  await mkdir(path.join(context.repo, 'deploy'), { recursive: true });
  await execa('git', ['init', '-q', '-b', 'main', context.repo]);
});

gitops.after(async (context) => {
  if (context.child && context.child.exitCode === null) {
    context.child.kill('SIGTERM');
    await context.child;
  }
  await downAndAssertNothingLeaks(context.sandbox, context.project);
});

gitops('--once applies the branch\'s commit, and ps shows it', async (context) => {
  const commit = await commitProject(context, 'first', projectText(context, 'one'));
  const result = await once(context);
  assert.is(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, `commit ${commit.slice(0, 12)} applied: first`);
  await eventually(async () => ((await logs(context)).includes('version-one') ? true : undefined), 'the app to run');
  const ps = await corral(context.sandbox, ['-p', context.project, 'ps']);
  assert.match(ps.stdout, `gitops: commit ${commit.slice(0, 12)}`);
  const ls = await corral(context.sandbox, ['ls', '--format', 'json']);
  const row = (JSON.parse(ls.stdout) as { name: string; gitops: { commit: string; branch: string } | null }[]).find((candidate) => candidate.name === context.project);
  assert.is(row?.gitops?.commit, commit, 'ls names the commit GitOps applied');
  assert.is(row?.gitops?.branch, 'main');
  assert.match((await corral(context.sandbox, ['ls'])).stdout, new RegExp(`${context.project}\\s.*\\s${commit.slice(0, 12)}`));
});

gitops('a new commit applies; the same commit again changes nothing', async (context) => {
  const commit = await commitProject(context, 'second', projectText(context, 'two'));
  const result = await once(context);
  assert.match(result.stdout, `commit ${commit.slice(0, 12)} applied: second`);
  assert.match(result.stdout, /recreated/);
  await eventually(async () => ((await logs(context)).includes('version-two') ? true : undefined), 'the new version to run');
  const again = await once(context);
  assert.match(again.stdout, /is already applied/);
});

gitops('a commit that does not validate keeps the last good one running, and status says why', async (context) => {
  const good = (await git(context, 'rev-parse', 'HEAD')).stdout.trim();
  const bad = await commitProject(context, 'broken', projectText(context, 'three').replace('containers:', 'containerz:'));
  const result = await once(context);
  assert.is(result.exitCode, 1);
  assert.match(result.stdout, `commit ${bad.slice(0, 12)} not applied: `);
  assert.match(result.stdout, /unknown key "containerz"/);
  assert.match(result.stdout, `commit ${good.slice(0, 12)} keeps running`);
  const current = (await status(context)) as { appliedCommit: string; lastError: { commit: string; message: string } };
  assert.is(current.appliedCommit, good);
  assert.is(current.lastError.commit, bad);
  assert.match(await logs(context), 'version-two');
  const text = (await corral(context.sandbox, ['gitops', 'status'])).stdout;
  assert.match(text, `${context.repo} main\n  applied:    commit ${good.slice(0, 12)} at `, 'the text status: what runs');
  assert.match(text, `  project:    ${context.project} from deploy/corral.yaml\n  last error: commit ${bad.slice(0, 12)} at `, 'the text status: what did not apply');
});

gitops('a commit that fails to apply halfway is rolled back to the last good one', async (context) => {
  const { appliedCommit: good } = (await status(context)) as { appliedCommit: string };
  const bad = await commitProject(context, 'no such program', projectText(context, 'five').replace('command: ["sh", ', 'command: ["/no/such/program", '));
  const result = await once(context);
  assert.is(result.exitCode, 1, result.stdout);
  assert.match(result.stdout, `commit ${bad.slice(0, 12)} failed to apply; rolling back to commit ${good.slice(0, 12)}`);
  assert.match(result.stdout, `commit ${bad.slice(0, 12)} not applied: `);
  assert.match(result.stdout, /no such file or directory/, 'the runtime\'s own reason');
  assert.match(result.stdout, `rolled back: commit ${good.slice(0, 12)} keeps running`);
  const rows = JSON.parse((await corral(context.sandbox, ['-p', context.project, 'ps', '--format', 'json'])).stdout) as { container: string; state: string }[];
  assert.equal(rows.map((row) => `${row.container} ${row.state}`), ['app running'], 'the last good version runs again');
  await eventually(async () => ((await logs(context)).includes('version-two') ? true : undefined), 'the last good version\'s output');
  const current = (await status(context)) as { appliedCommit: string; lastError: { commit: string } };
  assert.is(current.appliedCommit, good);
  assert.is(current.lastError.commit, bad);
  const again = await once(context);
  assert.not.match(again.stdout, /rolling back|applied:/, 'a failed commit is not tried again at every pass');
  assert.match(again.stdout, `commit ${bad.slice(0, 12)} failed before and is not tried again`);
});

gitops('a commit whose image cannot be had changes nothing and is tried again at the next pass', async (context) => {
  const missing = path.join(context.sandbox.work, 'no-such-layout');
  const commit = await commitProject(context, 'missing image', projectText(context, 'six').replace(/rootfs: .*/, `image: oci:${missing}:app`));
  for (const pass of [1, 2]) {
    const result = await once(context);
    assert.is(result.exitCode, 1, result.stdout);
    assert.match(result.stdout, `commit ${commit.slice(0, 12)} not applied: `, `pass ${pass} tried it`);
    assert.match(result.stdout, 'the next pass tries again');
  }
  assert.match(await logs(context), 'version-two', 'the last good version keeps running');
  assert.not.match(await logs(context), 'version-six');
});

gitops('the webhook refuses a bad signature and applies at once on a good one', async (context) => {
  const port = await freePort();
  const secretFile = path.join(context.sandbox.work, 'secret');
  await writeFile(secretFile, 'top-secret\n', { mode: 0o600 });
  context.child = execa(process.execPath, [cliEntry, 'gitops', '--repo', context.repo, '--branch', 'main', '--path', 'deploy/corral.yaml', '--interval', '1h', '--listen', `127.0.0.1:${port}`, '--secret-file', secretFile], { env: context.sandbox.env, reject: false, timeout: 120_000 });
  context.child.stdout!.on('data', (chunk) => (context.output += chunk));
  await eventually(async () => (context.output.includes('webhook listening') && context.output.includes('following main') ? true : undefined), 'the webhook to listen and the first pass to end');
  const commit = await commitProject(context, 'fixed', projectText(context, 'four'));
  const body = JSON.stringify({ ref: 'refs/heads/main', after: commit });
  const sign = (text: string) => `sha256=${createHmac('sha256', 'top-secret').update(text).digest('hex')}`;
  const post = (text: string, signature: string, delivery: string) => fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST', body: text, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature, 'x-github-delivery': delivery, 'x-github-event': 'push' }, signal: AbortSignal.timeout(5000),
  });
  const forged = await post(body, `sha256=${createHmac('sha256', 'wrong-secret').update(body).digest('hex')}`, 'd-1');
  assert.is(forged.status, 401, 'a bad signature');
  const otherBranch = JSON.stringify({ ref: 'refs/heads/feature', after: commit });
  assert.is((await post(otherBranch, sign(otherBranch), 'd-3')).status, 400, 'a signed push of another branch');
  const oversized = JSON.stringify({ ref: 'refs/heads/main', after: commit, padding: 'x'.repeat(1024 * 1024) });
  assert.is((await post(oversized, sign(oversized), 'd-4')).status, 413, 'a body over the size limit');
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.not.match(await logs(context), 'version-four', 'refused pushes change nothing');
  assert.not.match(context.output, /webhook: push/, 'no refused push reached the apply loop');
  const signature = sign(body);
  const accepted = await post(body, signature, 'd-2');
  assert.is(accepted.status, 202);
  await eventually(async () => ((await logs(context)).includes('version-four') ? true : undefined), 'the pushed commit to run');
  const replayed = await post(body, signature, 'd-2');
  assert.is(replayed.status, 409, 'a replayed delivery is refused');
  context.child.kill('SIGTERM');
  await context.child;
});

gitops.run();
