// One HTTP exchange with an upstream registry over node:http(s): redirects followed by hand (at most 5; the
// Authorization header is dropped when the host changes, as Docker Hub's blob redirects to its CDN require), a timeout
// until the answer's headers and an idle timeout on its body, and TLS verification switched off only for an upstream
// configured `insecure`.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError } from '../core/errors.ts';

/** An answer whose body has not been read yet: read it (`readBody`) or `discard` it. */
export interface UpstreamAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  /** The URL that answered (after redirects). */
  url: URL;
  body: IncomingMessage;
}

export interface UpstreamRequest {
  method: 'GET' | 'HEAD';
  url: URL;
  headers: Record<string, string>;
  /** Skip TLS certificate verification. */
  insecure: boolean;
  /** ms until the answer's headers, and the longest pause between two body chunks. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** What to call the upstream in error messages (its configured name). */
  what: string;
}

const MAX_REDIRECTS = 5;

/**
 * Sends the request, following redirects. Resolves to the final answer (any status). Throws AppError INTERNAL naming
 * the upstream when it cannot be reached, times out or redirects too often.
 */
export async function upstreamExchange(r: UpstreamRequest): Promise<UpstreamAnswer> {
  let url = r.url;
  let headers = { ...r.headers };
  for (let hop = 0; ; hop++) {
    const res = await once(r, url, headers);
    const location = res.headers.location;
    if (res.statusCode && [301, 302, 303, 307, 308].includes(res.statusCode) && location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new AppError('INTERNAL', `upstream ${r.what} redirected more than ${MAX_REDIRECTS} times (${url.host}); check its url`);
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw new AppError('INTERNAL', `upstream ${r.what} redirected to an unsupported URL scheme ${next.protocol}`);
      if (next.host !== url.host) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      url = next;
      continue;
    }
    armIdleTimeout(res, r.timeoutMs, r.what);
    return { status: res.statusCode ?? 0, headers: res.headers, url, body: res };
  }
}

function once(r: UpstreamRequest, url: URL, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, {
      method: r.method,
      headers: { 'User-Agent': 'BuildGrid-mirror', ...headers },
      signal: r.signal,
      ...(url.protocol === 'https:' && r.insecure ? { rejectUnauthorized: false } : {}),
    });
    const timer = setTimeout(() => req.destroy(new AppError('INTERNAL', `upstream ${r.what} (${url.host}) did not answer within ${r.timeoutMs} ms; try again later or check upstreams.${r.what}.url`)), r.timeoutMs);
    req.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof AppError ? err : new AppError('INTERNAL', `upstream ${r.what} (${url.host}) is unreachable: ${err.message}; try again later or check upstreams.${r.what}.url`));
    });
    req.end();
  });
}

function armIdleTimeout(res: IncomingMessage, ms: number, what: string): void {
  res.setTimeout(ms, () => res.destroy(new AppError('INTERNAL', `upstream ${what} stopped sending for ${ms} ms; try again later`)));
}

/** Reads a whole body of at most `max` bytes. Throws AppError SIZE_INVALID (connection dropped) when it is larger. */
export async function readBody(a: UpstreamAnswer, max: number, what: string): Promise<Buffer> {
  const declared = Number(a.headers['content-length'] ?? NaN);
  if (declared > max) {
    a.body.destroy();
    throw new AppError('SIZE_INVALID', `${what} is ${declared} bytes, more than the limit of ${max}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of a.body as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > max) {
      a.body.destroy();
      throw new AppError('SIZE_INVALID', `${what} is more than the limit of ${max} bytes`);
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

/** Drops an unread body. */
export function discard(a: UpstreamAnswer): void {
  a.body.resume();
}
