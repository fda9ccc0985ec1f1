// Stand-ins for public registries in mirror tests, all on loopback:
//   - startCountingUpstream: Debian's docker-registry (test/harness/reference-registry.ts) behind a counting proxy, so
//     a test can say "the upstream saw one GET of this blob", and can take the upstream down (connections reset).
//     Images are seeded with skopeo straight into the registry (not counted).
//   - startFakeUpstream: a tiny hostile registry answering from a table, for what no honest registry does (bytes that
//     do not match their digest, manifests naming blobs it does not have).

import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { makeBusyboxImage, type BusyboxImage, type BusyboxImageOptions } from '../harness/busybox.ts';
import { startReferenceRegistry, type ReferenceRegistry, type ReferenceRegistryOptions } from '../harness/reference-registry.ts';
import { runOk, tempDir, removeTree } from '../harness/tools.ts';
import { DEFAULT_UPSTREAMS, type UpstreamConfig } from '../../src/config/upstreams.ts';

/**
 * An `upstreams` setting with exactly `given`: every default (Docker Hub, ghcr.io, …) is switched off, so a test can
 * never reach the internet by naming a registry it did not point at loopback.
 */
export function onlyUpstreams(given: Record<string, UpstreamConfig>): Record<string, UpstreamConfig | false> {
  const off: Record<string, false> = {};
  for (const name of Object.keys(DEFAULT_UPSTREAMS)) off[name] = false;
  return { ...off, ...given };
}

export interface CountedRequest { method: string; path: string; status: number }

export interface CountingUpstream {
  /** The proxy's URL: what BuildGrid's `upstreams` entry points at. */
  url: string;
  registry: ReferenceRegistry;
  /** Every request the proxy forwarded (or refused while down), in order. */
  requests: CountedRequest[];
  /** Requests whose method is `method` and whose path matches `re`. */
  count(method: string, re: RegExp): number;
  /** While down, every connection is reset without an answer. */
  setDown(down: boolean): void;
  /** Copies a fresh busybox image to `<repo>:<tag>` of the registry (straight, not through the proxy). */
  seed(repo: string, tag: string, opts?: BusyboxImageOptions): Promise<BusyboxImage>;
  stop(): Promise<void>;
}

/** Starts a docker-registry and a counting proxy in front of it. The caller must stop() it. */
export async function startCountingUpstream(opts: ReferenceRegistryOptions = {}): Promise<CountingUpstream> {
  const registry = await startReferenceRegistry(opts);
  const work = await tempDir('bg-upstream-');
  const requests: CountedRequest[] = [];
  let down = false;
  const proxy = createServer((req, res) => {
    const entry = { method: req.method ?? 'GET', path: req.url ?? '/', status: 0 };
    requests.push(entry);
    if (down) return void req.socket.destroy();
    const out = request({ host: '127.0.0.1', port: registry.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      entry.status = up.statusCode ?? 0;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  const sockets = track(proxy);
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as { port: number }).port;
  let n = 0;
  return {
    url: `http://127.0.0.1:${port}`,
    registry,
    requests,
    count: (method, re) => requests.filter((r) => r.method === method && re.test(r.path)).length,
    setDown(d) {
      down = d;
      if (d) for (const s of sockets) s.destroy();
    },
    async seed(repo, tag, imageOpts = {}) {
      const img = await makeBusyboxImage(`${work.path}/img-${n++}`, { tag, ...imageOpts });
      const creds = registry.username ? ['--dest-creds', `${registry.username}:${registry.password}`] : [];
      await runOk('skopeo', ['copy', '--dest-tls-verify=false', ...creds, `oci:${img.layoutDir}:${tag}`, `docker://${registry.host}/${repo}:${tag}`], { timeoutMs: 60_000 });
      return img;
    },
    async stop() {
      await close(proxy, sockets);
      await registry.stop();
      await removeTree(work.path);
    },
  };
}

/** One canned answer of the fake upstream. */
export interface FakeAnswer { status: number; headers?: Record<string, string>; body?: Buffer }

export interface FakeUpstream {
  url: string;
  /** path (e.g. /v2/acme/base/manifests/1) → answer; GET and HEAD share entries (HEAD sends no body). */
  routes: Map<string, FakeAnswer>;
  requests: CountedRequest[];
  stop(): Promise<void>;
}

/** A registry that answers only what `routes` holds (404 otherwise), without authentication. */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const routes = new Map<string, FakeAnswer>();
  const requests: CountedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const a = routes.get(req.url ?? '') ?? (req.url === '/v2/' ? { status: 200 } : { status: 404 });
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '', status: a.status });
    res.writeHead(a.status, { 'content-length': String(a.body?.length ?? 0), ...a.headers });
    res.end(req.method === 'HEAD' ? undefined : a.body);
  });
  const sockets = track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, routes, requests, stop: () => close(server, sockets) };
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

async function close(server: Server, sockets: Set<Socket>): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const s of sockets) s.destroy();
  await closed;
}
