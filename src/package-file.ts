import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Sources run from src/ and compiled code from dist/src/, so files that ship beside the code (the
// schema, the built addon) are found by walking up from this module until they show up.

/** Absolute path of `relative` (e.g. "schemas/corral.schema.json") in the package, or an error saying how to get it. */
export function findPackageFile(relative: string, howToFix: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, relative);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${relative} not found above ${fileURLToPath(import.meta.url)}; ${howToFix}`);
    dir = parent;
  }
}
