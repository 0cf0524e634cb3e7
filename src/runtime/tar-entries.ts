import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { once } from 'node:events';
import { Header, Pax, type HeaderData } from 'tar';
import type { CopyEntry, EntryKind, OnSkipped } from './copy-entry.js';
import { RuntimeError } from './errors.js';

// `corral cp -` reads a tar archive from stdin and writes one to stdout, as `docker cp` does. Headers
// are encoded and decoded by node-tar's Header and Pax (ustar, with PAX records for long names, large
// ids and sizes); the stream itself is walked here, one entry at a time, so that each entry is written
// out (into a container, through its root's descriptor) before the next one is read.

const BLOCK = 512;

/** What is wrong with the archive on stdin, said as the runtime layer says it. */
function brokenArchive(message: string): RuntimeError {
  return new RuntimeError({ resource: 'stdin', step: 'tar', message, hint: 'give a tar archive (e.g. from tar -c -C DIR .) whose paths stay below the directory it is unpacked into' });
}

/** A pull reader of exact byte counts over a stream's chunks. */
class ByteReader {
  private buffered = Buffer.alloc(0);
  private readonly chunks: AsyncIterator<Buffer>;

  constructor(stream: Readable) {
    this.chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Up to `count` bytes (fewer only at the end of the stream). */
  async read(count: number): Promise<Buffer> {
    while (this.buffered.length < count) {
      const next = await this.chunks.next();
      if (next.done) break;
      this.buffered = Buffer.concat([this.buffered, next.value]);
    }
    const taken = this.buffered.subarray(0, count);
    this.buffered = this.buffered.subarray(taken.length);
    return taken;
  }

  /** Exactly `count` bytes; a stream that ends first is a truncated archive. */
  async readExactly(count: number, what: string): Promise<Buffer> {
    const bytes = await this.read(count);
    if (bytes.length < count) throw brokenArchive(`the tar archive ends inside ${what} (${bytes.length} of ${count} bytes)`);
    return bytes;
  }
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

const KINDS: Partial<Record<string, EntryKind>> = { File: 'file', OldFile: 'file', ContiguousFile: 'file', Directory: 'directory', SymbolicLink: 'symlink' };

/**
 * An archive path as a relative one: a leading "/" and "./" dropped, as tar does; one that climbs
 * out with ".." is refused (it would still land inside the container's root, but not where it says).
 */
export function archivePath(raw: string): string {
  const normal = path.posix.normalize(raw.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (normal === '..' || normal.startsWith('../')) throw brokenArchive(`the tar archive names ${JSON.stringify(raw)}, which leaves the destination directory`);
  return normal;
}

/** The entries of a tar archive, in archive order; hard links, devices and FIFOs are skipped and said. */
export async function* entriesOfTar(stream: Readable, onSkipped: OnSkipped): AsyncGenerator<CopyEntry> {
  const reader = new ByteReader(stream);
  let extended: HeaderData | undefined;
  let global: HeaderData | undefined;
  for (;;) {
    const block = await reader.read(BLOCK);
    if (block.length === 0) return;
    if (block.length < BLOCK) throw brokenArchive(`the tar archive ends inside a header (${block.length} of ${BLOCK} bytes)`);
    const header = new Header(block, 0, extended, global);
    if (header.nullBlock) return;
    if (!header.cksumValid) throw brokenArchive('the tar archive has a header with a wrong checksum: it is damaged, or not a tar archive');
    const size = header.size ?? 0;
    const body = async () => (await reader.readExactly(size + padding(size), `the body of ${header.path}`)).subarray(0, size);
    if (header.type === 'ExtendedHeader' || header.type === 'GlobalExtendedHeader') {
      const parsed = Pax.parse((await body()).toString('utf8'), header.type === 'ExtendedHeader' ? extended : global, header.type === 'GlobalExtendedHeader');
      if (header.type === 'ExtendedHeader') extended = parsed;
      else global = parsed;
      continue;
    }
    if (header.type === 'NextFileHasLongPath' || header.type === 'NextFileHasLongLinkpath') {
      const value = (await body()).toString('utf8').replace(/\0+$/, '');
      extended = { ...extended, ...(header.type === 'NextFileHasLongPath' ? { path: value } : { linkpath: value }) };
      continue;
    }
    extended = undefined;
    const entryPath = archivePath(header.path ?? '');
    const kind = KINDS[header.type];
    let remaining = kind === 'file' ? size : 0;
    if (kind === undefined || entryPath === '.' && kind !== 'directory') {
      onSkipped(entryPath, header.type === 'Link' ? `a hard link (to ${header.linkpath}) is not copied` : `a ${header.type} entry is not copied`);
      remaining = size;
    } else {
      yield {
        path: entryPath, kind, mode: (header.mode ?? 0o644) & 0o7777, uid: header.uid ?? 0, gid: header.gid ?? 0,
        mtime: header.mtime ?? new Date(), size: kind === 'file' ? size : 0,
        ...(kind === 'symlink' ? { linkTarget: header.linkpath ?? '' } : {}),
        ...(kind === 'file' ? { content: () => Readable.from((async function* () {
          while (remaining > 0) {
            const chunk = await reader.readExactly(Math.min(remaining, 64 * 1024), `the body of ${entryPath}`);
            remaining -= chunk.length;
            yield chunk;
          }
        })()) } : {}),
      };
    }
    // What the consumer did not read of the body, then the padding to the next header.
    await reader.readExactly(remaining + padding(size), `the body of ${entryPath}`);
  }
}

async function send(out: Writable, bytes: Buffer): Promise<void> {
  if (!out.write(bytes)) await once(out, 'drain');
}

/** Writes the entries as a tar archive (ustar, PAX where a field does not fit) to `out`, without ending it. */
export async function writeTar(entries: AsyncIterable<CopyEntry>, out: Writable): Promise<void> {
  for await (const entry of entries) {
    const data: HeaderData = {
      path: entry.kind === 'directory' ? `${entry.path}/` : entry.path,
      mode: entry.mode, uid: entry.uid, gid: entry.gid, size: entry.size, mtime: entry.mtime,
      type: entry.kind === 'file' ? 'File' : entry.kind === 'directory' ? 'Directory' : 'SymbolicLink',
      linkpath: entry.linkTarget ?? '',
    };
    const header = new Header(data);
    if (header.encode()) await send(out, new Pax(data).encode());
    await send(out, header.block!);
    if (entry.kind !== 'file') continue;
    let written = 0;
    for await (const chunk of entry.content!() as AsyncIterable<Buffer>) {
      // A file that grew while it is read is cut at the size its header gave; one that shrank is padded.
      const kept = chunk.subarray(0, Math.max(0, entry.size - written));
      written += kept.length;
      if (kept.length > 0) await send(out, kept);
    }
    await send(out, Buffer.alloc(entry.size - written + padding(entry.size)));
  }
  await send(out, Buffer.alloc(2 * BLOCK));
}
