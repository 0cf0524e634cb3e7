import { chmod, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { ContainerSnapshot } from '../state/snapshots.js';

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

export interface SupervisorAnswer {
  readonly ok: boolean;
  readonly pid?: number;
  readonly error?: string;
  /** For `status`: by `pod/container`. */
  readonly containers?: Readonly<Record<string, ContainerSnapshot>>;
}

/** Serves `handle` on the socket at `socketPath` (a stale socket file is replaced). */
export async function serveSocket(socketPath: string, handle: (request: SupervisorRequest) => Promise<SupervisorAnswer>): Promise<net.Server> {
  await unlink(socketPath).catch(() => {});
  const server = net.createServer((connection) => {
    let buffer = '';
    connection.setEncoding('utf8');
    connection.on('data', async (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 64 * 1024) connection.destroy();
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
    connection.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  return server;
}

/** Sends one request; undefined when no supervisor answers within `timeoutMs`. */
export function askSupervisor(socketPath: string, request: SupervisorRequest, timeoutMs = 5000): Promise<SupervisorAnswer | undefined> {
  return new Promise((resolve) => {
    const connection = net.connect(socketPath);
    let buffer = '';
    const finish = (answer: SupervisorAnswer | undefined) => {
      clearTimeout(timer);
      connection.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    connection.setEncoding('utf8');
    connection.on('connect', () => connection.write(`${JSON.stringify(request)}\n`));
    connection.on('data', (chunk: string) => {
      buffer += chunk;
      const newline = buffer.indexOf('\n');
      if (newline >= 0) finish(JSON.parse(buffer.slice(0, newline)) as SupervisorAnswer);
    });
    connection.on('error', () => finish(undefined));
    connection.on('close', () => finish(undefined));
  });
}
