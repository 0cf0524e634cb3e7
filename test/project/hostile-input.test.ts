import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { corral, createSandbox, downAndAssertNothingLeaks, repositoryRoot, type Sandbox } from '../helpers/sandbox.js';

// Hostile input: every project file of test/fixtures/bad/ (a realistic mistake or an attack each),
// and a few too large to commit that are written here, must be refused by `validate` and `up -d`
// alike: exit code 1, a first line `corral: FILE:LINE:COL: what (how to fix)` at the expected
// place, no stack trace, and nothing created. A case is a file whose first line is
// `# expect: LINE:COL SUBSTRING`, or a directory with such a corral.yaml and the files it needs.

const CORPUS = path.join(repositoryRoot, 'test/fixtures/bad');

interface Case {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly says: string;
}

function expectationOf(name: string, file: string, text: string): Case {
  const match = /^# expect: (\d+):(\d+) (.+)$/.exec(text.split('\n', 1)[0]!);
  if (!match) throw new Error(`${file}: the first line must be "# expect: LINE:COL SUBSTRING"`);
  return { name, file, line: Number(match[1]), col: Number(match[2]), says: match[3]! };
}

async function corpusCases(): Promise<Case[]> {
  const entries = (await readdir(CORPUS)).sort();
  return Promise.all(entries.map(async (entry) => {
    const isDirectory = (await stat(path.join(CORPUS, entry))).isDirectory();
    const file = isDirectory ? path.join(CORPUS, entry, 'corral.yaml') : path.join(CORPUS, entry);
    return expectationOf(entry.replace(/\.ya?ml$/, ''), file, await readFile(file, 'utf8'));
  }));
}

const header = (expect: string) => `# expect: ${expect}\npods:\n  web:\n    containers:\n      app: { rootfs: /var/lib/corral/rootfs/busybox, command: ["true"] }\n`;

/** Cases too large to commit, written into the sandbox. */
const GENERATED: { name: string; expect: string; text: () => string }[] = [
  {
    name: 'generated-huge-file',
    expect: '1:1 the file is too large',
    text: () => `${header('1:1 the file is too large')}x-padding: |\n${'  0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n'.repeat(80_000)}`,
  },
  {
    // yaml's own duplicate-key check compares every pair: minutes for this one.
    name: 'generated-100000-keys-one-duplicate',
    expect: '100007:3 each key may appear once',
    text: () => `${header('100007:3 each key may appear once')}x-many:\n${Array.from({ length: 100_000 }, (_, index) => `  k${index}: 1\n`).join('')}  k5: 2\n`,
  },
  {
    // Deep enough to run yaml's recursive composer out of stack.
    name: 'generated-100000-brackets',
    expect: '6:73 nests deeper than 64 levels',
    text: () => `${header('6:73 nests deeper than 64 levels')}x-deep: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`,
  },
  {
    name: 'generated-two-million-values',
    expect: '1:1 expands to more than 1000000 values',
    text: () => `${header('1:1 expands to more than 1000000 values')}x-values: [${'0,'.repeat(1_100_000)}0]\n`,
  },
];

interface Refusal {
  readonly exitCode: number;
  readonly firstLine: string;
  readonly stderr: string;
}

function problemsOf(example: Case, command: string, result: Refusal): string[] {
  const problems: string[] = [];
  const prefix = `corral: ${example.file}:${example.line}:${example.col}: `;
  if (result.exitCode !== 1) problems.push(`exit code ${result.exitCode}, not 1`);
  if (!result.firstLine.startsWith(prefix)) problems.push(`first line does not start with "${prefix}"`);
  if (!result.firstLine.includes(example.says)) problems.push(`first line does not say "${example.says}"`);
  if (!/ \(.+\)$/.test(result.firstLine)) problems.push('first line gives no "(how to fix)"');
  if (/^\s+at /m.test(result.stderr)) problems.push('stderr has a stack trace');
  return problems.map((problem) => `${example.name}, ${command}: ${problem}: ${result.firstLine.slice(0, 300)}`);
}

const hostile = suite<{ sandbox: Sandbox; cases: Case[]; allRefused?: boolean }>('hostile input');

hostile.before(async (context) => {
  context.sandbox = await createSandbox('hostile');
  context.cases = await corpusCases();
  for (const generated of GENERATED) {
    const file = path.join(context.sandbox.work, `${generated.name}.yaml`);
    await writeFile(file, generated.text());
    context.cases.push(expectationOf(generated.name, file, generated.expect.replace(/^/, '# expect: ')));
  }
});

hostile('the corpus has at least 110 cases, each with its expectation', (context) => {
  assert.ok(context.cases.length >= 110 + GENERATED.length, `${context.cases.length} cases`);
});

hostile('every case is refused by validate and up -d with FILE:LINE:COL, what and how to fix, exit code 1', async (context) => {
  const limit = pLimit(3);
  const problems = (await Promise.all(context.cases.map((example) => limit(async () => {
    const found: string[] = [];
    for (const command of [['validate'], ['up', '-d']]) {
      const result = await corral(context.sandbox, ['-f', example.file, ...command], { timeoutMs: 30_000 });
      const refusal = { exitCode: result.exitCode, firstLine: result.stderr.split('\n', 1)[0]!, stderr: result.stderr };
      found.push(...problemsOf(example, command[0]!, refusal));
      // A file `validate` accepts must not reach `up`: it would start containers.
      if (result.exitCode !== 1) break;
    }
    return found;
  })))).flat();
  assert.equal(problems, [], `every case is refused as expected:\n${problems.join('\n')}`);
  context.allRefused = true;
});

hostile('a project file that never ends (/dev/zero) is refused after the size limit', async (context) => {
  const result = await corral(context.sandbox, ['-f', '/dev/zero', 'validate'], { timeoutMs: 30_000 });
  assert.is(result.exitCode, 1, result.stderr);
  assert.match(result.stderr, /^corral: \/dev\/zero:1:1: the file is too large \(more than 4 MiB; at most 4 MiB\) \(.+\)$/m);
});

hostile('a .env that is a directory, or endless, is refused with its path, exit code 1', async (context) => {
  for (const [name, make] of [['env-dir', (env: string) => mkdir(env)], ['env-endless', (env: string) => symlink('/dev/zero', env)]] as const) {
    const dir = path.join(context.sandbox.work, name);
    await mkdir(dir);
    await writeFile(path.join(dir, 'corral.yaml'), header('0:0 -').split('\n').slice(1).join('\n'));
    await make(path.join(dir, '.env'));
    const result = await corral(context.sandbox, ['-f', path.join(dir, 'corral.yaml'), 'validate'], { timeoutMs: 30_000 });
    assert.is(result.exitCode, 1, `${name}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`^corral: ${path.join(dir, '.env')}(:1:1)?: (cannot read \\.env: EISDIR|the file is too large) \\(.+\\)$`), name);
  }
});

hostile('nothing was created in the run and state dirs', async (context) => {
  assert.equal(await readdir(context.sandbox.run), [], 'nothing in the run dir');
  assert.equal(await readdir(context.sandbox.state), [], 'nothing in the state dir');
});

hostile.after(async (context) => {
  const directoryCases = context.cases.filter((example) => path.basename(example.file) === 'corral.yaml').map((example) => path.basename(path.dirname(example.file)));
  await downAndAssertNothingLeaks(context.sandbox, 'bad', ...new Set(directoryCases));
  if (context.allRefused) process.stdout.write(`\n  hostile input: ${context.cases.length} cases refused with file:line:col, nothing created\n`);
});

hostile.run();
