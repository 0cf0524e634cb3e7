import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { SupervisorError } from '../../src/supervisor/errors.js';
import { askSupervisor, serveSocket } from '../../src/supervisor/socket.js';

// The supervisor's socket for real: a request and its answer; no supervisor (no socket, or a stale
// one) is no answer; a socket that cannot be used for another reason is an error that says so.

const socket = suite<{ dir: string; servers: Server[] }>('supervisor: its socket');

socket.before.each(async (context) => {
  context.dir = await mkdtemp('/tmp/corral-test-socket-');
  context.servers = [];
});

socket.after.each(async (context) => {
  await Promise.all(context.servers.map((server) => new Promise((resolve) => server.close(resolve))));
  await rm(context.dir, { recursive: true, force: true });
});

socket('a request is answered, on a root-only socket that replaced a stale one', async (context) => {
  const socketPath = path.join(context.dir, 'supervisor.sock');
  // What a killed supervisor leaves: a socket file that nobody listens on.
  await execa('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', socketPath]);
  assert.is(await askSupervisor(socketPath, { op: 'ping' }, { timeoutMs: 1000 }), undefined, 'a stale socket (ECONNREFUSED) is no answer');
  context.servers.push(await serveSocket(socketPath, async (request) => ({ ok: request.op === 'ping', pid: 7 })));
  assert.equal(await askSupervisor(socketPath, { op: 'ping' }, { timeoutMs: 1000 }), { ok: true, pid: 7 }, 'the answer');
  assert.is((await stat(socketPath)).mode & 0o777, 0o600, 'root-only');
});

socket('a handler that throws is an answer that says why', async (context) => {
  const socketPath = path.join(context.dir, 'supervisor.sock');
  context.servers.push(await serveSocket(socketPath, async () => {
    throw new Error('no such container web/app');
  }));
  assert.equal(await askSupervisor(socketPath, { op: 'restart', resources: ['web/app'] }), { ok: false, error: 'no such container web/app' });
});

socket('no socket file is no answer', async (context) => {
  assert.is(await askSupervisor(path.join(context.dir, 'supervisor.sock'), { op: 'ping' }, { timeoutMs: 1000 }), undefined);
});

socket('a socket path that cannot be reached is a SupervisorError naming it and the errno', async (context) => {
  const file = path.join(context.dir, 'file');
  await writeFile(file, '');
  const socketPath = path.join(file, 'supervisor.sock');
  const error = await askSupervisor(socketPath, { op: 'ping' }, { timeoutMs: 1000 }).catch((caught: unknown) => caught);
  assert.instance(error, SupervisorError, `an error, not "no supervisor": ${String(error)}`);
  assert.is((error as SupervisorError).reason, 'socket');
  assert.match(String(error), `cannot talk to the supervisor at ${socketPath}`, 'where');
  assert.match(String(error), '(ENOTDIR)', 'the errno');
  assert.is(((error as SupervisorError).cause as NodeJS.ErrnoException).code, 'ENOTDIR', 'the cause is kept');
});

socket.run();
