import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import os from 'node:os';
import path from 'node:path';
import { loadProject } from '../../src/load/load.js';

// An unquoted leading-zero number is octal, as compose-go and Kubernetes' YAML readers take it:
// `mode: 0440` on a secret or config is r--r----- (0o440), never decimal 440 (0o670, group-writable).

const octal = suite('mode: 0440 as compose reads it');

const load = (file: string, text: string) => loadProject({ file, readFile: async () => text, lookupEnv: () => undefined, onWarning: () => {} });

octal('a compose config and secret with mode 0440, 0o440, "0440" and 288: all 0o440; 440 stays decimal', async () => {
  const project = await load('/p/compose.yaml', `
services:
  app:
    image: busybox
    configs:
      - { source: c, target: /a, mode: 0440 }
      - { source: c, target: /b, mode: 0o440 }
      - { source: c, target: /c, mode: "0440" }
      - { source: c, target: /d, mode: 288 }
      - { source: c, target: /e, mode: 440 }
    secrets:
      - { source: s, target: s, mode: 0400 }
configs:
  c: { content: "x" }
secrets:
  s: { content: "y" }
`);
  const modes = Object.fromEntries(project.pods[0]!.containers[0]!.files.map((file) => [file.target, file.mode]));
  assert.equal(modes, { '/a': 0o440, '/b': 0o440, '/c': 0o440, '/d': 0o440, '/e': 440, '/run/secrets/s': 0o400 });
});

octal('Corral\'s own format reads it the same way', async () => {
  const project = await load('/p/corral.yaml', `
configs:
  c: { content: "x" }
pods:
  web:
    containers:
      app:
        rootfs: /r
        command: ["true"]
        configs: [{ source: c, target: /a, mode: 0640 }]
`);
  assert.is(project.pods[0]!.containers[0]!.files[0]!.mode, 0o640);
});

octal.run();

const values = suite('environment without a value, ~ in a bind source: as compose');

values('`- VAR` takes the project environment\'s value (the process, then .env) and is left out when unset; `~/x` is under the home directory', async () => {
  const environment: Record<string, string> = { FROM_SHELL: 'hello' };
  const project = await loadProject({
    file: '/p/compose.yaml',
    readFile: async (file) => (file.endsWith('.env') ? 'FROM_DOTENV=dotenv\n' : `
services:
  app:
    image: busybox
    volumes: ["~/data:/data", { type: bind, source: ~/long, target: /long }]
    environment: [FROM_SHELL, FROM_DOTENV, UNSET_ONE, PLAIN=1, "EMPTY="]
`),
    lookupEnv: (name) => environment[name],
    onWarning: () => {},
  });
  const container = project.pods[0]!.containers[0]!;
  assert.equal(container.env, { FROM_SHELL: 'hello', FROM_DOTENV: 'dotenv', PLAIN: '1', EMPTY: '' });
  const sources = container.mounts.filter((mount) => mount.type === 'bind').map((mount) => mount.source);
  assert.equal(sources, [path.join(os.homedir(), 'data'), path.join(os.homedir(), 'long')]);
});

values.run();
