import { createHmac } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { hasSignatureShape, isValidSignature, serveWebhook } from '../../src/gitops/webhook.js';

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

interface Limits {
  maxPerMinute?: number;
  maxUnauthenticatedPerMinute?: number;
  maxBodyBytes?: number;
  now?: () => number;
}

async function start(context: Context, limits: Limits = {}): Promise<number> {
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
  assert.ok(isValidSignature(secret, Buffer.from(push), sign(push)), 'the body signed with the secret');
  assert.not.ok(isValidSignature(secret, Buffer.from(`${push} `), sign(push)), 'another body');
  assert.not.ok(isValidSignature(secret, Buffer.from(push), sign(push, Buffer.from('other'))), 'another secret');
  assert.not.ok(isValidSignature(secret, Buffer.from(push), sign(push).slice(0, -2)), 'a truncated signature (other length)');
  assert.not.ok(isValidSignature(secret, Buffer.from(push), sign(push).replace('sha256=', 'sha1=')), 'another algorithm');
  assert.not.ok(isValidSignature(secret, Buffer.from(push), undefined), 'no header');
});

webhook('a header not shaped like a signature is known bad before the body is read', () => {
  assert.ok(hasSignatureShape(sign(push)), 'what GitHub sends');
  assert.ok(hasSignatureShape(sign(push, Buffer.from('other'))), 'another secret\'s signature has the shape: only the HMAC tells');
  assert.not.ok(hasSignatureShape(undefined), 'no header');
  assert.not.ok(hasSignatureShape(sign(push).slice(0, -2)), 'truncated');
  assert.not.ok(hasSignatureShape(sign(push).toUpperCase().replace('SHA256=', 'sha256=')), 'upper-case hex (never equal to the lower-case HMAC)');
  assert.not.ok(hasSignatureShape(`${sign(push)}, ${sign(push)}`), 'the header given twice');
});

webhook('only signed, new, well-formed pushes of the branch are passed on', async (context) => {
  const port = await start(context);
  assert.is((await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) })).status, 405, 'GET');
  assert.is((await post(port, push, { 'x-github-delivery': 'd-0' })).status, 401, 'unsigned');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push) })).status, 400, 'no delivery id');
  assert.is((await post(port, 'not json', { 'x-hub-signature-256': sign('not json'), 'x-github-delivery': 'd-1' })).status, 400, 'not JSON');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'd-ping', 'x-github-event': 'ping' })).status, 200, 'ping');
  assert.equal(context.pushes, [], 'nothing passed on yet');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'd-2' })).status, 202, 'a signed push of the branch');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'd-2' })).status, 409, 'replayed');
  assert.equal(context.pushes, ['d-2'], 'passed on once');
  assert.ok(context.lines.some((line) => line.includes('401')), 'refusals are logged');
});

webhook('a body over the size limit is refused and not passed on', async (context) => {
  const port = await start(context, { maxBodyBytes: 100 });
  const big = JSON.stringify({ ref: 'refs/heads/main', padding: 'x'.repeat(200) });
  assert.is((await post(port, big, { 'x-hub-signature-256': sign(big), 'x-github-delivery': 'd-1' })).status, 413, 'a signed body over the limit');
  assert.equal(context.pushes, [], 'nothing passed on');
});

webhook('requests over the rate limit get 429 and are not passed on', async (context) => {
  const port = await start(context, { maxPerMinute: 3 });
  const statuses: number[] = [];
  for (let index = 0; index < 5; index++) {
    statuses.push((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': `d-${index}` })).status);
  }
  assert.equal(statuses, [202, 202, 202, 429, 429], 'the fourth signed delivery of the minute is one too many');
  assert.equal(context.pushes, ['d-0', 'd-1', 'd-2'], 'only those within the limit are passed on');
});

// Every way of failing authentication, with its own answer while the unauthenticated budget lasts.
const unauthenticatedRequests: { name: string; status: number; send: (port: number) => Promise<Response> }[] = [
  { name: 'a GET', status: 405, send: (port) => fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) }) },
  { name: 'no signature', status: 401, send: (port) => post(port, push, { 'x-github-delivery': 'u-1' }) },
  { name: 'a malformed signature', status: 401, send: (port) => post(port, push, { 'x-hub-signature-256': 'sha256=zz', 'x-github-delivery': 'u-2' }) },
  { name: 'another secret\'s signature', status: 401, send: (port) => post(port, push, { 'x-hub-signature-256': sign(push, Buffer.from('guess')), 'x-github-delivery': 'u-3' }) },
  { name: 'a signature of another body', status: 401, send: (port) => post(port, push, { 'x-hub-signature-256': sign('{}'), 'x-github-delivery': 'u-4' }) },
  { name: 'a body over the size limit', status: 413, send: (port) => post(port, 'x'.repeat(300), { 'x-hub-signature-256': sign('x'.repeat(300)), 'x-github-delivery': 'u-5' }) },
];

webhook('every request that fails authentication spends the unauthenticated budget, none the other', async (context) => {
  const port = await start(context, { maxPerMinute: 1, maxUnauthenticatedPerMinute: unauthenticatedRequests.length, maxBodyBytes: 200 });
  for (const { name, status, send } of unauthenticatedRequests) assert.is((await send(port)).status, status, `${name}, within the budget`);
  for (const { name, send } of unauthenticatedRequests) assert.is((await send(port)).status, 429, `${name}, over the budget`);
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'd-1' })).status, 202, 'the one signed delivery the minute allows');
  assert.equal(context.pushes, ['d-1'], 'only the signed push is passed on');
});

webhook('a signed push goes through during a flood of unauthenticated requests', async (context) => {
  const port = await start(context, { maxPerMinute: 2 });
  const flood = 200;
  const batch = 20;
  const statuses: number[] = [];
  let pushDuringFlood: Promise<Response> | undefined;
  for (let sent = 0; sent < flood; sent += batch) {
    // Half without a signature (refused before the body is read), half signed with a wrong key
    // (read and checked: it might have been the real one).
    const requests = Array.from({ length: batch }, (_, index) => (sent + index) % 2 === 0
      ? post(port, push, { 'x-github-delivery': `bad-${sent + index}` })
      : post(port, push, { 'x-hub-signature-256': sign(push, Buffer.from('guess')), 'x-github-delivery': `bad-${sent + index}` }));
    if (sent === flood / 2) pushDuringFlood = post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'real-1' });
    for (const response of await Promise.all(requests)) statuses.push(response.status);
  }
  assert.is(statuses.length, flood, 'every request of the flood was answered');
  assert.is(statuses.filter((status) => status === 401).length, 30, 'the first 30 of the minute get 401');
  assert.is(statuses.filter((status) => status === 429).length, flood - 30, 'the rest get 429');
  assert.is((await pushDuringFlood!).status, 202, 'the signed push sent amid the flood is accepted');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'real-2' })).status, 202, 'and one after it, within the same minute');
  assert.equal(context.pushes, ['real-1', 'real-2'], 'both are passed on to apply, nothing of the flood');
  assert.is((await post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': 'real-3' })).status, 429, 'the signed deliveries keep their own limit');
  assert.is(context.lines.filter((line) => line.includes('429 too many unauthenticated')).length, 1, 'the flood past its budget is logged once, not per request');
  assert.ok(context.lines.length <= 32, `the log holds at most the 30 refusals and two 429 lines (${context.lines.length})`);
});

webhook('each budget is a minute long', async (context) => {
  let clock = 1_000_000;
  const port = await start(context, { maxPerMinute: 1, maxUnauthenticatedPerMinute: 1, now: () => clock });
  const signed = (delivery: string) => post(port, push, { 'x-hub-signature-256': sign(push), 'x-github-delivery': delivery });
  assert.is((await post(port, push, {})).status, 401, 'the first unsigned request of the minute');
  assert.is((await post(port, push, {})).status, 429, 'the second');
  assert.is((await signed('d-1')).status, 202, 'the first signed delivery of the minute');
  assert.is((await signed('d-2')).status, 429, 'the second');
  clock += 59_999;
  assert.is((await post(port, push, {})).status, 429, 'unsigned, still within the minute');
  assert.is((await signed('d-3')).status, 429, 'signed, still within the minute');
  clock += 1;
  assert.is((await post(port, push, {})).status, 401, 'unsigned, the next minute');
  assert.is((await signed('d-4')).status, 202, 'signed, the next minute');
  assert.equal(context.pushes, ['d-1', 'd-4'], 'one push a minute passed on');
});

webhook.run();
