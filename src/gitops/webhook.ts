import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

// The push webhook: a request is accepted only with a valid HMAC-SHA256 signature of its body
// (X-Hub-Signature-256, compared in constant time), under a size limit, not replayed (delivery ids
// are remembered), within a rate limit, and for the configured branch. Anything else is refused and
// changes nothing.

export interface WebhookOptions {
  readonly host: string;
  readonly port: number;
  readonly secret: Buffer;
  readonly branch: string;
  /** A valid push of the branch arrived. */
  readonly onPush: (delivery: string) => void;
  readonly onLine: (line: string) => void;
  readonly maxBodyBytes?: number;
  readonly maxPerMinute?: number;
}

const REMEMBERED_DELIVERIES = 1000;

export function isValidSignature(secret: Buffer, body: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function serveWebhook(options: WebhookOptions): Promise<http.Server> {
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const maxPerMinute = options.maxPerMinute ?? 30;
  const deliveries = new Set<string>();
  let windowStart = Date.now();
  let inWindow = 0;
  const server = http.createServer((request, response) => {
    const answer = (status: number, text: string) => {
      response.writeHead(status, { 'content-type': 'text/plain' }).end(`${text}\n`);
      if (status >= 400) options.onLine(`webhook: ${status} ${text}`);
    };
    if (request.method !== 'POST') return answer(405, 'POST only');
    if (Date.now() - windowStart > 60_000) {
      windowStart = Date.now();
      inWindow = 0;
    }
    if (++inWindow > maxPerMinute) return answer(429, 'too many requests');
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxBody) return answer(413, 'body too large');
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBody) {
        answer(413, 'body too large');
        request.destroy();
      } else chunks.push(chunk);
    });
    request.on('end', () => {
      if (size > maxBody) return;
      const body = Buffer.concat(chunks);
      if (!isValidSignature(options.secret, body, request.headers['x-hub-signature-256'] as string | undefined)) return answer(401, 'bad or missing signature');
      const delivery = String(request.headers['x-github-delivery'] ?? '');
      if (!delivery) return answer(400, 'missing X-GitHub-Delivery');
      if (deliveries.has(delivery)) return answer(409, 'delivery already seen');
      let payload: { ref?: string; zen?: string };
      try {
        payload = JSON.parse(body.toString('utf8')) as { ref?: string };
      } catch {
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
