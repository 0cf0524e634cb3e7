import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The layers of src/ as the README's architecture section draws them: every import between folders
// points down this list, so no folder imports one above it and no two folders import each other.
// Files directly in src/ (log.ts, native.ts, ...) and machines/ are the ground every layer may use.

const LAYERS = ['cli', 'watch', 'gitops', 'converge', 'supervisor', 'plan', 'network', 'runtime', 'images', 'load', 'import', 'machines', 'project', 'state'];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return Promise.resolve(entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : []);
  }));
  return nested.flat();
}

/** The layer a file of src/ or machines/ belongs to; undefined for the ground (files directly in src/). */
function layerOf(file: string): string | undefined {
  const relative = path.relative(root, file).split(path.sep);
  if (relative[0] === 'machines') return 'machines';
  return relative.length > 2 ? relative[1] : undefined;
}

/** Relative imports, static and dynamic, as `[specifier, line]`. */
function importsOf(text: string): [string, number][] {
  const found: [string, number][] = [];
  for (const [index, line] of text.split('\n').entries()) {
    for (const match of line.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'(\.{1,2}\/[^']+)'/g)) found.push([match[1]!, index + 1]);
  }
  return found;
}

const layers = suite('src/: imports point down the layers');

layers('the README lists the same layers, in the same order', async () => {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const drawn = /Imports point down only[^\n]*\n([\s\S]*?)\n\n/.exec(readme)?.[1] ?? '';
  const named = [...drawn.matchAll(/`([a-z]+)`/g)].map((match) => match[1]!).filter((name) => LAYERS.includes(name));
  assert.equal(named, LAYERS, `the README's order: ${named.join(' > ')}`);
});

layers('no file imports a folder above its own', async () => {
  const files = [...(await sourceFiles(path.join(root, 'src'))), ...(await sourceFiles(path.join(root, 'machines')))];
  assert.ok(files.length > 100, `read the sources (${files.length} files)`);
  const upward: string[] = [];
  for (const file of files) {
    const from = layerOf(file);
    for (const [specifier, line] of importsOf(await readFile(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts'));
      const to = layerOf(target);
      if (!from || !to || from === to) continue;
      if (LAYERS.indexOf(to) < LAYERS.indexOf(from)) upward.push(`${path.relative(root, file)}:${line} (${from}) imports ${specifier} (${to})`);
    }
  }
  assert.equal(upward, [], `imports that point up:\n${upward.join('\n')}`);
});

layers('the check sees an upward import when there is one', () => {
  const [[specifier]] = importsOf("import { reconcileProject } from '../converge/reconcile.js';") as [[string, number]];
  const from = layerOf(path.join(root, 'src/runtime/pod.ts'));
  const to = layerOf(path.resolve(path.join(root, 'src/runtime'), specifier));
  assert.is(from, 'runtime');
  assert.is(to, 'converge');
  assert.ok(LAYERS.indexOf(to!) < LAYERS.indexOf(from!), 'runtime importing converge is upward');
});

layers.run();
