import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { loadProject } from '../../src/load/load.js';
import { ProjectError } from '../../src/project/errors.js';
import { repositoryRoot } from '../helpers/sandbox.js';

// A property of the loader: whatever text it is given (valid project files, compose files and
// manifests with lines deleted, duplicated or moved, values retyped, odd characters inserted, or
// documents made up from scratch), it returns a model or throws a ProjectError, never anything
// else. The seed is fixed in CI and printed; CORRAL_FUZZ_SEED and CORRAL_FUZZ_RUNS explore more.

const FILE = '/projects/fuzz/corral.yaml';
const SEED = Number(process.env.CORRAL_FUZZ_SEED ?? 20261123);
const RUNS = Number(process.env.CORRAL_FUZZ_RUNS ?? 400);

const RICH = `name: shop
x-base: &base
  rootfs: /var/lib/corral/rootfs/busybox
  restart: on-failure:3
volumes:
  data: {}
  html: { type: bind, source: ./html, create_host_path: true }
  scratch: { type: tmpfs, size: 16m, mode: "1777" }
secrets:
  token: { content: "s3cret-\${USER:-nobody}" }
configs:
  site: { environment: SITE_CONFIG }
networks:
  default: { subnet: 10.89.7.0/24 }
pods:
  web:
    share: [net, ipc, uts, pid]
    shm_size: 64m
    ports: ["8080:80", "127.0.0.1:9000:9000/udp", 81]
    dns: [10.0.0.53]
    extra_hosts: { db.legacy: 10.1.2.3 }
    resources: { memory: 256m, cpus: 1 }
    labels: [com.example.team=core]
    init_containers:
      migrate: { <<: *base, command: ["sh", "-c", "echo migrated"] }
    containers:
      server:
        <<: *base
        command: httpd -f -p 80 -h /srv
        env: { GREETING: "hello $USER", EMPTY: ~, COUNT: 3 }
        env_file: [./app.env]
        working_dir: /srv
        user: "1000:1000"
        volumes: ["data:/srv", "./conf:/etc/app:ro", { type: tmpfs, target: /tmp, tmpfs: { size: 1m } }, { source: data, target: /sub, subpath: site }]
        resources: { cpus: 0.5, memory: 64m, memory_reservation: 32m, pids: 100 }
        cap_add: [NET_ADMIN]
        cap_drop: [NET_RAW]
        sysctls: { net.ipv4.ip_unprivileged_port_start: 80, kernel.shmmax: 1000000 }
        ulimits: { nofile: { soft: 1024, hard: 2048 }, nproc: 64 }
        healthcheck: { http: { port: 80, path: / }, interval: 5s, retries: 3, start_period: 1m30s }
        depends_on: { web/sidecar: { condition: service_started } }
        secrets: [token, { source: token, target: /etc/token, mode: "0400" }]
        configs: [{ source: site, target: /etc/site.conf }]
        userns: { uid_map: ["0:200000:65536"], gid_map: ["0:200000:65536"] }
        stop_signal: SIGINT
        stop_grace_period: 20s
        watch: [{ path: ./src, action: sync, target: /srv }]
      sidecar:
        image: localhost:5000/tools:1
        entrypoint: ["sh"]
        command: ["-c", "sleep 60"]
        network: container:web/server
        profiles: [debug]
  api:
    network: host
    restart: always
    depends_on: [web]
    containers:
      app: { build: { context: ./api, dockerfile: Dockerfile.dev }, healthcheck: { test: ["CMD-SHELL", "true"] } }
`;

async function baseDocuments(): Promise<string[]> {
  const files = ['examples/hello/corral.yaml', 'test/fixtures/import/node-redis.compose.yml', 'test/fixtures/import/wordpress-mysql.compose.yml',
    'test/fixtures/import/multi-container.kube.yaml', 'test/fixtures/import/deployment-probes.kube.yaml'];
  return [RICH, ...await Promise.all(files.map((file) => readFile(path.join(repositoryRoot, file), 'utf8')))];
}

/** Everything the loader reads: the project file, and for any other file (.env, env_file, secrets) a small valid one or ENOENT. */
function filesWith(text: string) {
  return async (name: string) => {
    if (name === FILE) return text;
    if (name.endsWith('.env')) return 'A=1\nexport B="two"\n';
    throw Object.assign(new Error(`ENOENT: ${name}`), { code: 'ENOENT' });
  };
}

/** Loads `text`; returns what went wrong other than a model or a ProjectError, if anything. */
async function unexpectedOutcome(text: string): Promise<string | undefined> {
  try {
    await loadProject({ file: FILE, readFile: filesWith(text), lookupEnv: (name) => (name === 'USER' ? 'fuzz' : undefined), onWarning: () => {}, profiles: ['debug'] });
    return undefined;
  } catch (error) {
    if (!(error instanceof ProjectError)) return `not a ProjectError: ${(error as Error)?.stack ?? String(error)}`;
    if (!(error.hint.length > 0 && error.where.file === FILE)) return `a ProjectError without file or hint: ${error.toString()}`;
    return undefined;
  }
}

const ODD = ['\t', '\0', ':', ': ', '- ', '{', '}', '[', ']', '"', "'", '&a ', '*a', '!!str ', '!!binary ', '!custom ', '${', '$', '${X:?}', '<<: ', '? ', '|', '>', '#', '\n', '  ', '\u2028', '\uFEFF', '\u0085', '\\', ',', '%YAML 1.1\n', '---\n', '...\n', 'ü', '😀'];
const VALUES = ['[]', '{}', '~', '""', '-1', '0', '-0', '0x1F', '1e999', '.nan', '.inf', 'true', 'no', '"x"', '99999999999999999999', '[1, [2, [3]]]', '{ a: { b: 1 } }', '*a', '&a 1', '"${UNSET:?required}"', '"$"', '/..', '../../etc', '"a\\u0000b"', "'ALL'", 'x'.repeat(70)];

/** A text mutation: each picks its positions from the numbers fast-check draws. */
type Mutation = (lines: string[], at: number, other: number) => string[];
const at = (lines: string[], index: number) => index % Math.max(lines.length, 1);
const MUTATIONS: Record<string, (pick: number) => Mutation> = {
  deleteLine: () => (lines, index) => lines.filter((_, line) => line !== at(lines, index)),
  duplicateLine: () => (lines, index) => lines.flatMap((line, number) => (number === at(lines, index) ? [line, line] : [line])),
  moveLine: () => (lines, index, other) => {
    const moved = [...lines];
    const [line] = moved.splice(at(lines, index), 1);
    moved.splice(at(moved, other), 0, line ?? '');
    return moved;
  },
  insertOdd: (pick) => (lines, index, other) => lines.map((line, number) => (number === at(lines, index) ? `${line.slice(0, other % (line.length + 1))}${ODD[pick % ODD.length]}${line.slice(other % (line.length + 1))}` : line)),
  retypeValue: (pick) => (lines, index) => lines.map((line, number) => (number === at(lines, index) ? line.replace(/(:\s+|-\s+).*$/, `$1${VALUES[pick % VALUES.length]}`) : line)),
  indent: () => (lines, index) => lines.map((line, number) => (number === at(lines, index) ? `  ${line}` : line)),
  dedent: () => (lines, index) => lines.map((line, number) => (number === at(lines, index) ? line.replace(/^ {1,2}/, '') : line)),
};

/** A mutation as data (so that a counterexample prints as what was done): its name and the numbers it picks positions with. */
const textMutation = fc.record({ name: fc.constantFrom(...Object.keys(MUTATIONS)), pick: fc.nat(), index: fc.nat(), other: fc.nat() });
const mutate = (lines: string[], mutation: { name: string; pick: number; index: number; other: number }) => MUTATIONS[mutation.name]!(mutation.pick)(lines, mutation.index, mutation.other);

/** Runs a property with the fixed seed; a failure names the input and what the loader threw. */
async function holds<T extends unknown[]>(property: fc.IAsyncProperty<T>): Promise<void> {
  const details = await fc.check(property, { seed: SEED, numRuns: RUNS });
  if (!details.failed) return;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  assert.unreachable(`seed ${SEED}, counterexample ${JSON.stringify(details.counterexample).slice(0, 500)}:\n${cause}`);
}

/** Replaces or deletes the value at a random path of the parsed document: a structure-aware retyping. */
function retypeAtPath(data: unknown, choices: readonly number[], replacement: unknown): unknown {
  if (data === null || typeof data !== 'object' || choices.length === 0) return replacement;
  const keys = Object.keys(data);
  if (keys.length === 0) return replacement;
  const key = keys[choices[0]! % keys.length]!;
  const copy: Record<string, unknown> = Array.isArray(data) ? [...data] as unknown as Record<string, unknown> : { ...data };
  if (replacement === undefined && choices.length === 1) delete copy[key];
  else copy[key] = retypeAtPath(copy[key], choices.slice(1), replacement);
  return copy;
}

const fuzz = suite<{ bases: string[] }>('loader fuzz');

fuzz.before(async (context) => {
  context.bases = await baseDocuments();
  process.stdout.write(`\n  loader fuzz: seed ${SEED}, ${RUNS} runs per property (CORRAL_FUZZ_SEED, CORRAL_FUZZ_RUNS)\n`);
});

fuzz('the valid documents it mutates load', async (context) => {
  for (const base of context.bases) assert.is(await unexpectedOutcome(base), undefined);
});

fuzz('mutated lines: a model or a ProjectError, nothing else', async (context) => {
  await holds(fc.asyncProperty(fc.nat(), fc.array(textMutation, { minLength: 1, maxLength: 4 }), async (baseIndex, mutations) => {
    const base = context.bases[baseIndex % context.bases.length]!;
    const text = mutations.reduce(mutate, base.split('\n')).join('\n');
    const outcome = await unexpectedOutcome(text);
    assert.is(outcome, undefined, `${outcome}\n--- input ---\n${text}`);
  }));
});

fuzz('values retyped anywhere in the document: a model or a ProjectError, nothing else', async (context) => {
  const replacement = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
  await holds(fc.asyncProperty(fc.nat(), fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), replacement, async (baseIndex, choices, value) => {
    const base = context.bases[baseIndex % context.bases.length]!;
    // A Kubernetes file of several documents is mutated in one of them.
    const documents = base.split(/^---$/m);
    const index = choices[0]! % documents.length;
    documents[index] = stringify(retypeAtPath(parse(documents[index]!, { merge: true }), choices.slice(1), value));
    const text = documents.join('---\n');
    const outcome = await unexpectedOutcome(text);
    assert.is(outcome, undefined, `${outcome}\n--- input ---\n${text}`);
  }));
});

fuzz('made-up documents: a model or a ProjectError, nothing else', async () => {
  const document = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }).map((value) => stringify(value)),
    fc.record({ pods: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 4 })) }).map((value) => stringify(value)),
    fc.record({ services: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 4 })) }).map((value) => stringify(value)),
    fc.record({ apiVersion: fc.constant('v1'), kind: fc.constantFrom('Pod', 'Deployment', 'ConfigMap', 'Secret', 'PersistentVolumeClaim'), metadata: fc.jsonValue({ maxDepth: 2 }), spec: fc.jsonValue({ maxDepth: 4 }) }).map((value) => stringify(value)),
  );
  await holds(fc.asyncProperty(document, async (text) => {
    const outcome = await unexpectedOutcome(text);
    assert.is(outcome, undefined, `${outcome}\n--- input ---\n${text}`);
  }));
});

fuzz.run();
