import { chmod, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { ContainerSnapshot } from '../state/snapshots.js';
import { SupervisorError } from './errors.js';

// The supervisor's unix socket: one JSON request per line, one JSON answer per line. Root-only (0600
// in a 0700 run dir); a CLI that cannot connect knows there is no live supervisor.

export type SupervisorRequest =
  /** The applied project or the stopped set changed: read them again and re-observe (answered before the pass). */
  | { readonly op: 'reload' }
  /** Restart these containers (`pod/container`) now. */
  | { readonly op: 'restart'; readonly resources: readonly string[] }
  /** Stop supervising and exit; the containers stay as they are. */
  | { readonly op: 'shutdown' }
  /** The machines' states as they are now (fresher than the snapshots file, which is written a little later). */
  | { readonly op: 'status' }
  | { readonly op: 'ping' };

/**
 * How long a request waits for its answer by default, in ms: the supervisor answers between the steps
 * of a pass; a pass can hold it for a second or two on a loaded host, and a CLI that gave up sooner
 * would start a second supervisor beside a live one (which then exits, busy).
 */
export const ANSWER_TIMEOUT_MS = 5000;

/** A request is one short JSON line; a peer that sends more than this without a newline is cut off. */
const MAX_REQUEST_BYTES = 64 * 1024;

/** What connecting fails with when no supervisor listens: no socket file, or a stale one. */
const NOBODY_LISTENS = new Set(['ENOENT', 'ECONNREFUSED']);

export interface SupervisorAnswer {
  readonly ok: boolean;
  readonly pid?: number;
  readonly error?: string;
  /** For `status`: by `pod/container`. */
  readonly containers?: Readonly<Record<string, ContainerSnapshot>>;
}

/** Serves `handle` on the socket at `socketPath` (a stale socket file is replaced). */
export async function serveSocket(socketPath: string, handle: (request: SupervisorRequest) => Promise<SupervisorAnswer>): Promise<net.Server> {
  await unlink(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw SupervisorError.socket(socketPath, error);
  });
  const server = net.createServer((connection) => {
    let buffer = '';
    connection.setEncoding('utf8');
    connection.on('data', async (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_REQUEST_BYTES) connection.destroy();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        let answer: SupervisorAnswer;
        try {
          answer = await handle(JSON.parse(line) as SupervisorRequest);
        } catch (error) {
          answer = { ok: false, error: (error as Error).message };
        }
        if (!connection.destroyed) connection.write(`${JSON.stringify(answer)}\n`);
      }
    });
    // A CLI that went away before its answer (a timeout, ^C) is its own business.
    connection.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return server;
}

/**
 * Sends one request; undefined when no supervisor answers within the timeout (none listens, or it went
 * away mid-request). A socket that cannot be used for another reason (not root) is a SupervisorError.
 */
export function askSupervisor(socketPath: string, request: SupervisorRequest, options: { timeoutMs?: number } = {}): Promise<SupervisorAnswer | undefined> {
  return new Promise((resolve, reject) => {
    const connection = net.connect(socketPath);
    let buffer = '';
    let connected = false;
    const finish = (answer: SupervisorAnswer | undefined) => {
      clearTimeout(timer);
      connection.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), options.timeoutMs ?? ANSWER_TIMEOUT_MS);
    connection.setEncoding('utf8');
    connection.on('connect', () => {
      connected = true;
      connection.write(`${JSON.stringify(request)}\n`);
    });
    connection.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline >= 0) finish(JSON.parse(buffer.slice(0, newline)) as SupervisorAnswer);
    });
    connection.on('error', (error: NodeJS.ErrnoException) => {
      // Once connected, any error means the supervisor went away before it answered (it stops, or died).
      if (connected || NOBODY_LISTENS.has(error.code ?? '')) return finish(undefined);
      clearTimeout(timer);
      connection.destroy();
      reject(SupervisorError.socket(socketPath, error));
    });
    connection.on('close', () => finish(undefined));
  });
}
