import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { corral, createSandbox, downAndAssertNothingLeaks, type Sandbox } from '../helpers/sandbox.js';

// GitOps with several project files in one repository: each --path is a project; at a new commit,
// a pod removed from its file is removed from the host, and a file deleted from the repository
// takes its whole project down, while the other project keeps running untouched.

interface Context { sandbox: Sandbox; shop: string; blog: string; repo: string }
interface Row { pod: string; container: string; state: string; created: string | null }

const projects = suite<Context>('corral gitops with several project files');

const container = (rootfs: string) => `{ rootfs: "${rootfs}", command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"] }`;

function projectText(name: string, rootfs: string, pods: readonly string[]): string {
  return [`name: ${name}`, 'pods:', ...pods.flatMap((pod) => [`  ${pod}:`, '    containers:', `      app: ${container(rootfs)}`]), ''].join('\n');
}

async function git(context: Context, ...args: string[]) {
  return execa('git', ['-C', context.repo, ...args], { env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
}

async function commitAll(context: Context, message: string): Promise<string> {
  await git(context, 'add', '-A');
  await git(context, 'commit', '-q', '-m', message);
  return (await git(context, 'rev-parse', 'HEAD')).stdout.trim();
}

const once = (context: Context) => corral(context.sandbox, ['gitops', '--repo', context.repo, '--branch', 'main', '--path', 'deploy/shop.yaml', '--path', 'deploy/blog.yaml', '--once']);

async function rows(context: Context, project: string): Promise<Row[]> {
  const result = await corral(context.sandbox, ['-p', project, 'ps', '--format', 'json']);
  return JSON.parse(result.stdout || '[]') as Row[];
}

projects.before(async (context) => {
  context.sandbox = await createSandbox('gitopsp');
  context.shop = context.sandbox.projectName('shop');
  context.blog = context.sandbox.projectName('blog');
  context.repo = path.join(context.sandbox.work, 'repo');
  await mkdir(path.join(context.repo, 'deploy'), { recursive: true });
  await execa('git', ['init', '-q', '-b', 'main', context.repo]);
});

projects.after((context) => downAndAssertNothingLeaks(context.sandbox, context.shop, context.blog));

projects('one commit applies two project files, one project each', async (context) => {
  const rootfs = context.sandbox.env.CORRAL_ROOTFS!;
  await writeFile(path.join(context.repo, 'deploy/shop.yaml'), projectText(context.shop, rootfs, ['web', 'worker']));
  await writeFile(path.join(context.repo, 'deploy/blog.yaml'), projectText(context.blog, rootfs, ['site']));
  const commit = await commitAll(context, 'two projects');
  const result = await once(context);
  assert.is(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, `commit ${commit.slice(0, 12)} applied`);
  assert.equal((await rows(context, context.shop)).map((row) => `${row.pod}/${row.container} ${row.state}`), ['web/app running', 'worker/app running']);
  assert.equal((await rows(context, context.blog)).map((row) => `${row.pod}/${row.container} ${row.state}`), ['site/app running']);
});

projects('a removed pod is removed, a deleted file takes its project down, the rest is untouched', async (context) => {
  const before = await rows(context, context.shop);
  await writeFile(path.join(context.repo, 'deploy/shop.yaml'), projectText(context.shop, context.sandbox.env.CORRAL_ROOTFS!, ['web']));
  await rm(path.join(context.repo, 'deploy/blog.yaml'));
  const commit = await commitAll(context, 'no worker, no blog');
  const result = await once(context);
  assert.is(result.exitCode, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, `deploy/blog.yaml is gone at ${commit.slice(0, 12)}: taking project ${context.blog} down`);
  const after = await rows(context, context.shop);
  assert.equal(after.map((row) => `${row.pod}/${row.container} ${row.state}`), ['web/app running'], 'the worker pod is gone');
  assert.is(after[0]!.created, before.find((row) => row.pod === 'web')!.created, 'web was left alone');
  assert.not.ok(existsSync(path.join(context.sandbox.run, context.blog)), 'nothing of the blog project is left in the run dir');
  const [status] = JSON.parse((await corral(context.sandbox, ['gitops', 'status', '--repo', context.repo, '--format', 'json'])).stdout) as { appliedCommit: string; projects: Record<string, string> }[];
  assert.is(status!.appliedCommit, commit);
  assert.equal(status!.projects, { 'deploy/shop.yaml': context.shop });
});

projects.run();
