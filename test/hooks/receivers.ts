import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';

/**
 * Notification receivers on loopback, written the way a user's service would be: verify X-BuildGrid-Signature-256
 * over the raw body with the endpoint's secret, then answer. `answer` picks the status per request (e.g. fail the
 * first two tries of each delivery).
 */

export interface Notice { headers: IncomingHttpHeaders; body: string; json: any; verified: boolean; status: number }

export interface Receiver {
  url: string;
  got: Notice[];
  /** The secret to verify with (set once the endpoint is created). */
  secret: string;
  close(): Promise<void>;
}

/** True when `header` is `sha256=<hex HMAC-SHA256(secret, body)>`. */
export function verifyNotice(secret: string, body: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startReceiver(answer: (tries: number, n: Notice) => number = () => 204): Promise<Receiver> {
  const tries = new Map<string, number>();
  const r: Receiver = { url: '', got: [], secret: '', close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const delivery = String(req.headers['x-buildgrid-delivery']);
      tries.set(delivery, (tries.get(delivery) ?? 0) + 1);
      let json: unknown = null;
      try { json = JSON.parse(body); } catch { /* recorded as null */ }
      const n: Notice = { headers: req.headers, body, json, verified: verifyNotice(r.secret, body, req.headers['x-buildgrid-signature-256'] as string | undefined), status: 0 };
      // A real receiver refuses what it cannot verify.
      n.status = n.verified ? answer(tries.get(delivery)!, n) : 401;
      r.got.push(n);
      res.writeHead(n.status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: n.status < 300 }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/buildgrid`;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  return r;
}
