import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { AppError } from '../core/errors.ts';
import type { NetGuard } from '../core/netguard.ts';

/**
 * One POST to a notification receiver, treating the receiver as hostile:
 *  - the destination goes through the NetGuard: an IP literal is checked before connecting, a name is resolved by the
 *    guard's `lookup`, so the socket connects to exactly the addresses that were checked (no DNS rebinding window);
 *  - redirects are never followed (node's client does not follow them; the caller treats a 3xx as a failure);
 *  - one timer covers the whole exchange (connect, sending, headers and body): a receiver that trickles is cut off;
 *  - at most `maxAnswerBytes` of the body are read, then the socket is destroyed: the answer is kept as status and
 *    headers only, so a receiver answering 400 MiB costs one socket buffer, not memory.
 */

export interface Answer {
  statusCode: number;
  /** The receiver's headers (lower-case names), capped: see MAX_HEADER_CHARS. */
  headers: Record<string, string>;
}

export interface PostOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  guard: NetGuard;
  /** Body bytes read before the connection is cut (default 4 KiB). */
  maxAnswerBytes?: number;
}

/** The most header text kept per answer: a few dozen ordinary headers. */
const MAX_HEADER_CHARS = 2048;
const MAX_HEADER_VALUE = 256;

/**
 * POSTs `body` and resolves with the answer's status and headers once the body ended or `maxAnswerBytes` of it were
 * read. Rejects with DestinationRefused for a refused destination, AppError INVALID 'no complete answer within …'
 * when the timeout passes first, or the socket's error (ECONNREFUSED, …).
 */
export async function postNotification(opts: PostOptions): Promise<Answer> {
  const u = new URL(opts.url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host)) await opts.guard.resolve(host); // a literal never reaches `lookup`: check it here
  const maxAnswer = opts.maxAnswerBytes ?? 4096;
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<Answer>((resolve, reject) => {
    let answer: Answer | null = null;
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const req = send(u, {
      method: 'POST', agent: false, lookup: opts.guard.lookup, maxHeaderSize: 16 * 1024,
      headers: { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)), connection: 'close' },
    }, (res: IncomingMessage) => {
      answer = { statusCode: res.statusCode ?? 0, headers: keepHeaders(res) };
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= maxAnswer) finish(null);
      });
      res.on('end', () => finish(null));
      res.on('error', (err) => finish(answer && read >= maxAnswer ? null : err));
    });
    const timer = setTimeout(() => finish(new AppError('INVALID', `no complete answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('error', (err) => finish(err));
    req.end(opts.body);
  });
}

/** The answer's headers as name → value (repeated names joined with ", "), each value cut to 256 characters, stopping before 2 KiB of JSON. */
function keepHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase().slice(0, 100);
    const value = (out[name] === undefined ? raw[i + 1]! : `${out[name]}, ${raw[i + 1]!}`).slice(0, MAX_HEADER_VALUE);
    const previous = out[name];
    out[name] = value;
    if (JSON.stringify(out).length > MAX_HEADER_CHARS) {
      if (previous === undefined) delete out[name];
      else out[name] = previous;
      break;
    }
  }
  return out;
}
