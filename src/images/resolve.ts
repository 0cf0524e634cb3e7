import type { ContainerImage, ImageBuild, Project } from '../project/model.js';
import { applyImageConfig } from './config.js';
import { buildImage } from './build.js';
import { isBuiltAs } from './build-settings.js';
import { ensureImage, type PullOptions, type PullPolicy } from './pull.js';
import { imageStore, readImage, type ImageStore } from './store.js';

// Before planning, each container with an image gets what its image says, unless the file says
// otherwise (see config.ts). The image id and layers become part of the container, so a new image
// recreates it (the config hash covers the whole container). `build:` images are built once, then
// again with `up --build`, when gone from the store, or when the build settings changed (an arg, the
// target, a label, a secret: see build-settings.ts).

/** The project with every image resolved (pulled as the pull policies say). Different images are pulled in parallel. */
export async function resolveProjectImages(project: Project, stateDir: string, options: PullOptions & { rebuild?: boolean; pull?: PullPolicy } = {}): Promise<Project> {
  const containers = project.pods.flatMap((pod) => pod.containers).filter((container) => container.image);
  if (containers.length === 0) return project;
  const store = imageStore(stateDir);
  const wanted = new Map<string, ContainerImage>();
  // One pull (or build) per reference; `always` and `build` win when containers ask differently.
  const eager = (image: ContainerImage | undefined) => image?.pullPolicy === 'always' || image?.pullPolicy === 'build';
  for (const { image } of containers) wanted.set(image!.ref, eager(wanted.get(image!.ref)) ? wanted.get(image!.ref)! : image!);
  const say = options.reporter?.line ?? options.onProgress;
  const images = new Map(await Promise.all([...wanted].map(async ([ref, image]) => {
    // pull_policy: build is compose's `up --build` for this image alone.
    if (image.build && (options.rebuild || image.pullPolicy === 'build' || !(await isBuiltAsWritten(store, ref, image.build)))) {
      return [ref, await buildImage(store, { ref, build: image.build, tlsVerify: options.tlsVerify, onProgress: say })] as const;
    }
    // `up --pull` overrides every pull_policy, as compose's does; an image built here is never pulled.
    return [ref, await ensureImage(store, ref, image.build || image.pullPolicy === 'build' ? 'missing' : options.pull ?? image.pullPolicy, options)] as const;
  })));
  return {
    ...project,
    pods: project.pods.map((pod) => ({
      ...pod,
      containers: pod.containers.map((container) => {
        if (!container.image) return container;
        const image = images.get(container.image.ref)!;
        return applyImageConfig(container, { id: image.id, config: image.config, layers: image.layers.map((digest) => store.layer(digest)) });
      }),
    })),
  };
}

/** The store has the image of `ref`, built with the settings `build` has now. */
async function isBuiltAsWritten(store: ImageStore, ref: string, build: ImageBuild): Promise<boolean> {
  const stored = await readImage(store, ref);
  return stored !== undefined && isBuiltAs(stored.buildHash, build);
}
