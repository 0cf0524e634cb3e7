import { createHmac } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isValidSignature, serveWebhook } from '../../src/gitops/webhook.js';

// The webhook alone, served on loopback: what it refuses and what it passes on. The CLI test
// (test/cli/gitops.test.ts) covers the same server driving real applies.

interface Context {
  server?: http.Server;
  pushes: string[];
  lines: string[];
}

const webhook = suite<Context>('gitops webhook', { pushes: [], lines: [] });
const secret = Buffer.from('top-secret');
const sign = (body: string, key: Buffer = secret) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
const push = JSON.stringify({ ref: 'refs/heads/main', after: 'abc' });

async function start(context: Context, limits: { maxPerMinute?: number; maxBodyBytes?: number } = {}): Promise<number> {
  context.pushes = [];
  context.lines = [];
  context.server = await serveWebhook({
    host: '127.0.0.1', port: 0, secret, branch: 'main', ...limits,
    onPush: (delivery) => context.pushes.push(delivery),
    onLine: (line) => context.lines.push(line),
  });
  return (context.server.address() as AddressInfo).port;
}

function post(port: number, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body, headers: { 'x-github-event': 'push', ...headers }, signal: AbortSignal.timeout(5000) });
}

webhook.after.each((context) => new Promise<void>((resolve) => (context.server ? context.server.close(() => resolve()) : resolve())));

webhook('a signature is valid only for the exact body and secret', () => {
  assert.ok(isValidSignature(secret, Buffer.from(push), sign(push)));
  assert.not.ok(isValidSignature(secret, Buffer.from(`${push} `), sign(push)), 'another body');
  assert.not.ok(isValidSignature(secret, Buffer.from(push), sign(push, Buffer.from('other'))), 'another secret');
  assert.not.ok(isValidSignature(secret, Buffer.from(push), sign(push).slice(0, -2)), 'a truncated signature (other length)');
  assert.not.ok(isValidSignature(secret, Buffer.from(push), sign(push).replace('sha256=', 'sha1=')), 'another algorithm');
  assert.not.ok(isValidSignature(secret, Buffer.from(push), undefined), 'no header');
});

webhook('only signed, new, well-formed pushes of the branch are passed on', async (context) => {
  const port = await start(context);
  assert.is((await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).status, 405, 'GET');
  assert.is((await post(port, push, { 'x-github-delivery': 'd-0' })).status, 401, 'unsigned');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push) })).status, 400, 'no delivery id');
  assert.is((await post(port, 'not json', { 'x-hub-signature-256': sign('not json'), 'x-github-delivery': 'd-1' })).status, 400, 'not JSON');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'd-ping', 'x-github-event': 'ping' })).status, 200, 'ping');
  assert.equal(context.pushes, [], 'nothing passed on yet');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'd-2' })).status, 202);
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'd-2' })).status, 409, 'replayed');
  assert.equal(context.pushes, ['d-2']);
  assert.ok(context.lines.some((line) => line.includes('401')), 'refusals are logged');
});

webhook('a body over the size limit is refused and not passed on', async (context) => {
  const port = await start(context, { maxBodyBytes: 100 });
  const big = JSON.stringify({ ref: 'refs/heads/main', padding: 'x'.repeat(200) });
  assert.is((await post(port, big, { 'x-hub-signature-256': sign(big), 'x-github-delivery': 'd-1' })).status, 413);
  assert.equal(context.pushes, []);
});

webhook('requests over the rate limit get 429 and are not passed on', async (context) => {
  const port = await start(context, { maxPerMinute: 3 });
  const statuses: number[] = [];
  for (let index = 0; index < 5; index++) {
    statuses.push((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': `d-${index}` })).status);
  }
  assert.equal(statuses, [202, 202, 202, 429, 429]);
  assert.equal(context.pushes, ['d-0', 'd-1', 'd-2']);
});

webhook.run();
