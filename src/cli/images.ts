import type { Command } from 'commander';
import { dirsFromEnvironment } from '../state/paths.js';
import { loadTargetProject, type TargetOptions, withTargetOptions } from './target.js';

// `corral pull`, `corral images`, `corral image rm` and `corral image prune`: the local image store.

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

async function storeModules() {
  const [store, pull, usage] = await Promise.all([import('../images/store.js'), import('../images/pull.js'), import('../images/usage.js')]);
  const state = dirsFromEnvironment().state;
  return { ...store, ...pull, ...usage, state, store: store.imageStore(state) };
}

export function registerImages(program: Command): void {
  withTargetOptions(program
    .command('pull')
    .argument('[refs...]', 'images to pull (default: those of the project file)')
    .description('pull images into the local store (all of the project file, or the ones named)'))
    .option('--tls-verify <bool>', 'false: plain HTTP or unverified TLS', 'true')
    .action(async (refs: string[], options: TargetOptions & { tlsVerify?: string }, command: Command) => {
      const merged = { ...command.optsWithGlobals(), ...options } as TargetOptions & { tlsVerify?: string };
      const images = await storeModules();
      const wanted = refs.length > 0 ? refs : [...new Set((await loadTargetProject(merged)).pods.flatMap((pod) => pod.containers).flatMap((container) => (container.image ? [container.image.ref] : [])))];
      // Different images are pulled in parallel.
      await Promise.all(wanted.map((ref) => images.pullImage(images.store, ref, { tlsVerify: merged.tlsVerify !== 'false', onProgress: print })));
    });

  program
    .command('images')
    .description('list the images of the local store: reference, id, size, size shared with other images')
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: { format?: string }) => {
      const images = await storeModules();
      const rows = (await images.describeImages(images.store)).map(({ image, size, sharedSize }) => ({ ref: image.ref, id: image.id, size, sharedSize, layers: image.layers.length }));
      if (options.format === 'json') {
        print(JSON.stringify(rows, null, 2));
        return;
      }
      const cells = [['IMAGE', 'ID', 'SIZE', 'SHARED', 'LAYERS'], ...rows.map((row) => [row.ref, row.id.slice(7, 19), megabytes(row.size), megabytes(row.sharedSize), String(row.layers)])];
      const widths = cells[0]!.map((_, column) => Math.max(...cells.map((line) => line[column]!.length)));
      for (const line of cells) print(line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
    });

  const image = program.command('image').description('manage the local image store');
  image
    .command('rm')
    .argument('<refs...>', 'image references or ids')
    .description('remove images (refused while a container of an applied project uses one)')
    .action(async (refs: string[]) => {
      const images = await storeModules();
      for (const ref of refs) {
        await images.removeImage(images.store, images.state, ref);
        print(`✔ ${ref}  removed`);
      }
      await images.pruneImages(images.store, images.state);
    });
  image
    .command('prune')
    .description('remove blobs and layers no image references (with --all: also images no applied project uses)')
    .option('-a, --all', 'also remove images that no applied project uses')
    .action(async (options: { all?: boolean }) => {
      const images = await storeModules();
      const removed = await images.pruneImages(images.store, images.state, { unused: options.all });
      for (const line of removed) print(`✔ ${line}  removed`);
      if (removed.length === 0) print('nothing to remove');
    });
}
