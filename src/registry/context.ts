import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metadata, Repository } from '../metadata/types.ts';
import type { BlobReader, BlobWriter } from '../storage/types.ts';
import type { GateDeps, Caller } from './gate.ts';
import type { PullRecorder } from './pulls.ts';
import type { MirrorFetcher } from './mirror/fetcher.ts';

/** Everything the /v2 handlers may use. Read handlers only get `blobs` (a reader); write handlers get `ingest`. */
export interface RegistryDeps extends GateDeps {
  metadata: Metadata;
  /** Read-only blob access for the public read path. */
  blobs: BlobReader;
  /** Write access, used only by push handlers after the gate has granted `push`. */
  ingest: BlobWriter;
  /** Base URL clients use (no trailing slash). */
  publicUrl: string;
  maxManifestBytes: number;
  /** Key for binding upload session ids to their repository (HMAC). */
  uploadKey: Buffer;
  /** The pull-through cache: fetches what a read of mirror/<registry>/… misses (absent: no mirror). */
  mirror?: MirrorFetcher;
  /** Records manifest pulls in memory for retention (flushed in batches; absent: pulls are not recorded). */
  pulls?: PullRecorder;
  /** Called once per finished request, for metrics. */
  observe?: (m: { route: string; method: string; status: number; seconds: number; bytes: number }) => void;
  /** Called with unexpected errors (500s), for logging. */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

/** A request that passed routing, authentication and authorization. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  query: URLSearchParams;
  caller: Caller;
  /** Validated repository name (for repository routes). */
  name: string;
  ref: string;
  /** The repository row when it exists. */
  repo: Repository | null;
  deps: RegistryDeps;
}

/** Handlers resolve to the number of body bytes sent (for the bytes-served metric). */
export type Handler = (ctx: RequestContext) => Promise<number>;

/** Writes a JSON response; resolves to the body size. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | number> = {}): number {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Docker-Distribution-API-Version': 'registry/2.0',
    ...headers,
  });
  res.end(text);
  return Buffer.byteLength(text);
}

/** Writes an empty response with headers. */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): number {
  res.writeHead(status, { 'Content-Length': 0, 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
  res.end();
  return 0;
}

/**
 * Reads a request body fully; resolves to null (leaving the rest unread) when it exceeds `max` bytes. The dispatcher
 * closes connections whose request body was not consumed, so an oversized body never poisons a keep-alive connection.
 */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        cleanup();
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => { cleanup(); resolve(Buffer.concat(chunks)); };
    const onError = (err: Error) => { cleanup(); reject(err); };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Parses `n` and `last` pagination parameters; `n` is capped at `max`. Returns null for a malformed `n`. */
export function pageParams(q: URLSearchParams, max = 1000): { n: number; last?: string } | null {
  const nRaw = q.get('n');
  let n = max;
  if (nRaw !== null) {
    if (!/^\d+$/.test(nRaw)) return null;
    n = Math.min(Number(nRaw), max);
  }
  return { n, last: q.get('last') ?? undefined };
}
