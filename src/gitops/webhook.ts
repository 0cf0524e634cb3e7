import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

// The push webhook: a request is accepted only with a valid HMAC-SHA256 signature of its body
// (X-Hub-Signature-256, compared in constant time), under a size limit, not replayed (delivery ids
// are remembered), within a rate limit, and for the configured branch. Anything else is refused and
// changes nothing.
//
// The rate limit is two budgets counted apart: one for requests that prove they know the secret,
// one for all the others (no POST, no or a malformed signature header, a body over the limit, a
// wrong signature). A flood of the latter only ever spends its own budget, so it cannot hold back a
// real push until the next poll.

export interface WebhookOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: Buffer;
  readonly branch: string;
  /** A valid push of the branch arrived. */
  readonly onPush: (delivery: string) => void;
  readonly onLine: (line: string) => void;
  readonly maxBodyBytes?: number;
  /** Authenticated deliveries (a valid signature) a minute; more get 429. */
  readonly maxPerMinute?: number;
  /** Requests a minute that fail authentication; more get 429 instead of their own refusal. */
  readonly maxUnauthenticatedPerMinute?: number;
  /** The clock of the rate limits, for tests. */
  readonly now?: () => number;
}

const REMEMBERED_DELIVERIES = 1000;
const MINUTE_MS = 60_000;

/** Within the budget, the first request over it (the one that is logged), or a later one. */
type Spending = 'within' | 'first over' | 'over';

interface MinuteBudget {
  take(): Spending;
}

// A fixed one-minute window: it bounds what a sender can make the server do at the cost of two
// numbers, and a limit "per minute" is what the README promises.
function createMinuteBudget(limit: number, now: () => number): MinuteBudget {
  let windowStart = now();
  let taken = 0;
  return {
    take() {
      if (now() - windowStart >= MINUTE_MS) {
        windowStart = now();
        taken = 0;
      }
      taken++;
      if (taken <= limit) return 'within';
      return taken === limit + 1 ? 'first over' : 'over';
    },
  };
}

// What GitHub sends; anything else cannot be valid, so it is refused without reading the body.
// The shape says nothing about the secret, so checking it first leaks nothing.
export function hasSignatureShape(header: string | undefined): boolean {
  return header !== undefined && /^sha256=[0-9a-f]{64}$/.test(header);
}

export function isValidSignature(secret: Buffer, body: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function serveWebhook(options: WebhookOptions): Promise<http.Server> {
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const maxPerMinute = options.maxPerMinute ?? 30;
  const maxUnauthenticatedPerMinute = options.maxUnauthenticatedPerMinute ?? 30;
  const now = options.now ?? Date.now;
  const authenticated = createMinuteBudget(maxPerMinute, now);
  const unauthenticated = createMinuteBudget(maxUnauthenticatedPerMinute, now);
  const deliveries = new Set<string>();
  const server = http.createServer((request, response) => {
    const answer = (status: number, text: string, { logged = true } = {}) => {
      response.writeHead(status, { 'content-type': 'text/plain' }).end(`${text}\n`);
      if (status >= 400 && logged) options.onLine(`webhook: ${status} ${text}`);
    };
    // Past the budget a flood gets 429 and one log line for the rest of the minute, not one each.
    const refuseUnauthenticated = (status: number, text: string) => {
      const spending = unauthenticated.take();
      if (spending === 'within') return answer(status, text);
      answer(429, `too many unauthenticated requests (over ${maxUnauthenticatedPerMinute} a minute; the rest of this minute's get 429 without a log line)`, { logged: spending === 'first over' });
    };
    if (request.method !== 'POST') return refuseUnauthenticated(405, 'POST only');
    const signature = request.headers['x-hub-signature-256'] as string | undefined;
    if (!hasSignatureShape(signature)) return refuseUnauthenticated(401, 'bad or missing signature');
    // The size limit comes before the body is read: the signature is over the whole body, so an
    // oversized one could never be checked and is never buffered.
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxBody) return refuseUnauthenticated(413, 'body too large');
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) {
        if (!response.headersSent) refuseUnauthenticated(413, 'body too large');
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > maxBody) return;
      const body = Buffer.concat(chunks);
      // Even past the unauthenticated budget a well-shaped signature is checked: it may be the
      // real push. The cost is bounded by the size limit, and nothing else is done before it.
      if (!isValidSignature(options.secret, body, signature)) return refuseUnauthenticated(401, 'bad or missing signature');
      const spending = authenticated.take();
      if (spending !== 'within') return answer(429, `too many deliveries (over ${maxPerMinute} a minute)`, { logged: spending === 'first over' });
      const delivery = String(request.headers['x-github-delivery'] ?? '');
      if (!delivery) return answer(400, 'missing X-GitHub-Delivery');
      if (deliveries.has(delivery)) return answer(409, 'delivery already seen');
      let payload: { ref?: string; zen?: string };
      try {
        payload = JSON.parse(body.toString('utf8')) as { ref?: string };
      } catch {
        // Only JSON.parse can throw here: the sender's body, answered as such.
        return answer(400, 'body is not JSON');
      }
      deliveries.add(delivery);
      if (deliveries.size > REMEMBERED_DELIVERIES) deliveries.delete(deliveries.values().next().value!);
      if (request.headers['x-github-event'] === 'ping') return answer(200, 'pong');
      if (payload.ref !== `refs/heads/${options.branch}`) return answer(400, `not a push to ${options.branch}`);
      answer(202, 'accepted');
      options.onPush(delivery);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}
