import type { Project } from './model.js';
import { isRecord, readStateJson } from '../state/read.js';

// The project as last applied (`applied.json`): what the supervisor follows between commands, and
// what the next `up` compares against to tell a changed container from an unchanged one.

/**
 * Removing a corrupt applied.json costs little: a container is kept or recreated by the config hash
 * recorded on it, never by this file (it only names what changed). A full `up` (no pod names, which
 * would keep the other pods as recorded here) writes it again; `down` never reads it.
 */
const appliedFix = (file: string) => `remove it (rm -r ${file}) and run \`corral up\` for the whole project, which keeps every container whose configuration is unchanged and records it again; or \`corral down\` to remove the project`;

const isApplied = (value: unknown): value is { project: Project } => isRecord(value) && isRecord(value.project) && Array.isArray(value.project.pods);

/** The project as last applied, or undefined when none was (no applied.json). */
export async function readAppliedProject(file: string): Promise<Project | undefined> {
  return (await readStateJson<{ project: Project }>(file, { fix: appliedFix(file), isValid: isApplied, shape: 'an applied project ({"project": {"pods": [...]}})' }))?.project;
}
