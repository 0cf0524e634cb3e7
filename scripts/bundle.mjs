// Build step: bundles the compiled CLI (dist/src/cli/main.js) into dist/bin/corral.js with esbuild.
// A command spends most of its start loading modules: execa alone is ~110 files. One bundle (lazy
// commands stay separate chunks) took `corral ps` from ~0.27 s to ~0.18 s on this 2-core machine.
// The native addon, winston (loaded on first log line) and the JSON files stay outside, found at run time.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Chunk names carry content hashes: without this, every rebuild leaves the previous chunks behind.
rmSync(path.join(root, 'dist/bin'), { recursive: true, force: true });
await build({
  entryPoints: { corral: path.join(root, 'dist/src/cli/main.js') },
  outdir: path.join(root, 'dist/bin'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['*.node', 'winston'],
  // Bundled CommonJS dependencies (commander, cross-spawn) call require() for Node's own modules.
  banner: { js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);" },
  logLevel: 'warning',
});
chmodSync(path.join(root, 'dist/bin/corral.js'), 0o755);
