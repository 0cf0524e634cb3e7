import { readFile } from 'node:fs/promises';
import type { Project } from './model.js';

// The project as last applied (`applied.json`): what the supervisor follows between commands, and
// what the next `up` compares against to tell a changed container from an unchanged one.

export async function readAppliedProject(file: string): Promise<Project | undefined> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { project: Project }).project;
  } catch {
    return undefined;
  }
}
