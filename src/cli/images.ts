import type { Command } from 'commander';
import type { Removal } from '../images/remove.js';
import { dirsFromEnvironment } from '../state/paths.js';
import { formatTable } from './table.js';
import { targetProjectName, type TargetOptions, withTargetOptions } from './target.js';

// `corral images`: the images of one project's containers, as `docker compose images`. `corral image
// ls`, `image rm REF...` and `image prune [--all]`: the local store, shared by all projects.

const print = (line: string) => process.stdout.write(`${line}\n`);

interface ProjectImagesOptions extends TargetOptions {
  readonly format?: string;
}

async function runProjectImages(pods: readonly string[], options: ProjectImagesOptions): Promise<void> {
  const project = await targetProjectName(options, { command: 'images', acceptTheOneRunning: true });
  const [{ summariseImages, imagesOfProject }, { default: prettyBytes }] = await Promise.all([import('../images/list.js'), import('pretty-bytes')]);
  const rows = imagesOfProject(await summariseImages(dirsFromEnvironment()), project).filter((row) => pods.length === 0 || pods.includes(row.container.split('/')[0]!));
  if (options.format === 'json') {
    print(JSON.stringify(rows, null, 2));
    return;
  }
  print(formatTable(['CONTAINER', 'REPOSITORY', 'TAG', 'IMAGE ID', 'SIZE'], rows.map((row) => [row.container, row.repository, row.tag, row.id.slice(7, 19), prettyBytes(row.size)])));
}

async function runStoreImages(options: { format?: string }): Promise<void> {
  const [{ summariseImages }, { default: prettyBytes }] = await Promise.all([import('../images/list.js'), import('pretty-bytes')]);
  const images = await summariseImages(dirsFromEnvironment());
  if (options.format === 'json') {
    print(JSON.stringify(images, null, 2));
    return;
  }
  print(formatTable(['IMAGE', 'ID', 'SIZE', 'SHARED SIZE', 'CONTAINERS'], images.map((image) => [
    image.ref, image.id.slice(7, 19), prettyBytes(image.size), prettyBytes(image.sharedSize), String(image.containers.length),
  ])));
}

async function describeRemoval(removal: Removal): Promise<void> {
  const { default: prettyBytes } = await import('pretty-bytes');
  const buildLeftovers = removal.buildLeftovers ?? [];
  for (const leftover of buildLeftovers) print(`✔ ${leftover} of a killed build  removed`);
  if (removal.images.length === 0 && removal.layers.length === 0) {
    if (buildLeftovers.length > 0) return;
    print('nothing to remove');
    return;
  }
  for (const ref of removal.images) print(`✔ image ${ref}  removed`);
  for (const digest of removal.layers) print(`✔ layer ${digest.replace(':', '-').slice(0, 19)}  removed`);
  print(`reclaimed ${prettyBytes(removal.reclaimedBytes)}`);
}

export function registerImages(program: Command): void {
  withTargetOptions(program
    .command('images')
    .argument('[pods...]', 'only these pods')
    .description('list the images the project\'s containers were created from (the local store: corral image ls)'))
    .option('--format <format>', 'table or json', 'table')
    .action(async (pods: string[], options: ProjectImagesOptions, command: Command) => runProjectImages(pods, { ...command.optsWithGlobals(), ...options }));
  const image = program.command('image').description('manage the local image store');
  image
    .command('ls')
    .description('list the images of the local store: size, size shared with other images, containers using them')
    .option('--format <format>', 'table or json', 'table')
    .action(async (options: { format?: string }) => runStoreImages(options));
  image
    .command('rm')
    .argument('<refs...>', 'images by the name they were pulled as, or by id (a prefix will do)')
    .description('remove images (refused while a container uses one)')
    .action(async (refs: string[]) => {
      const { removeImages } = await import('../images/remove.js');
      await describeRemoval(await removeImages(dirsFromEnvironment(), refs));
    });
  image
    .command('prune')
    .description('remove layers and blobs no image names and leftovers of interrupted pulls and killed builds; with --all, every image no container uses')
    .option('-a, --all', 'also remove images no container uses')
    .action(async (options: { all?: boolean }) => {
      const { pruneImages } = await import('../images/remove.js');
      await describeRemoval(await pruneImages(dirsFromEnvironment(), options));
    });
}
