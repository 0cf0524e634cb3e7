import path from 'node:path';
import { rm } from 'node:fs/promises';
import { writeJsonAtomic } from './atomic.js';
import { isRecord, namesInDir, readStateJson } from './read.js';

// What `corral boot` brings back: one record per project that `up -d` left up, written by `up -d` and
// removed by `down`. The project's model is its applied.json (what boot runs); the record adds where
// it came from (file, dir, profiles), so that a user, or a later Corral, can load it again. Root-only,
// like the rest of the state dir.

/** Where a project was read from: kept with its model, and with its boot record. */
export interface ProjectOrigin {
  /** Absolute path of the project file. */
  readonly file: string;
  /** Directory relative paths in the file are resolved against. */
  readonly dir: string;
  /** Every file the project was read from (the file, .env, env_files): what `watch` watches. */
  readonly sources: readonly string[];
}

export interface BootRecord extends ProjectOrigin {
  readonly project: string;
  /** The profiles that were active (`--profile`, or CORRAL_PROFILES). */
  readonly profiles: readonly string[];
  /** When `up -d` recorded it (ISO 8601). */
  readonly recordedAt: string;
}

const RECORD_SUFFIX = '.json';

const isStringList = (value: unknown) => Array.isArray(value) && value.every((item) => typeof item === 'string');

const isBootRecord = (value: unknown): value is BootRecord => isRecord(value) && typeof value.project === 'string' && typeof value.file === 'string'
  && typeof value.dir === 'string' && isStringList(value.sources) && isStringList(value.profiles);

// Without its record a project is simply not brought back at boot; `up -d` writes it again.
const recordFix = (file: string) => `remove it (rm ${file}) and run \`corral up -d\` of the project again, which records it again; until then it does not come back at boot`;

export function writeBootRecord(file: string, record: BootRecord): Promise<void> {
  return writeJsonAtomic(file, record);
}

export async function removeBootRecord(file: string): Promise<void> {
  // Recursive: a record that something turned into a directory goes too, as with the other state files.
  await rm(file, { recursive: true, force: true });
}

/** The records in `dir`, sorted by project; none when it does not exist. Corrupt: a StateReadError. */
export async function readBootRecords(dir: string): Promise<BootRecord[]> {
  const files = (await namesInDir(dir)).filter((name) => name.endsWith(RECORD_SUFFIX)).sort();
  const records: BootRecord[] = [];
  for (const name of files) {
    const file = path.join(dir, name);
    const record = await readStateJson<BootRecord>(file, { fix: recordFix(file), isValid: isBootRecord, shape: 'a boot record ({"project": ..., "file": ..., "dir": ..., "sources": [...], "profiles": [...]})' });
    // Removed between the readdir and the read: a `down` ran meanwhile.
    if (record) records.push(record);
  }
  return records;
}
