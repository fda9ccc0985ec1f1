import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';

/**
 * Git smart HTTP for tests: a node http server on 127.0.0.1 that runs git's own /usr/lib/git-core/git-http-backend as
 * a CGI program for every request, serving the repositories under `root` (read-only: receive-pack is off because no
 * REMOTE_USER is trusted for it). Optional Basic auth; optional protocol v0 only (drops the Git-Protocol header, so
 * fetching an unadvertised commit by hash is refused as on older servers).
 */

const BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitHttpServer {
  /** http://<host>:<port>/<repoName> */
  url(repoName: string): string;
  port: number;
  /** One entry per request: method, path and query, request Content-Encoding and Authorization, response status. */
  requests: Array<{ method: string; path: string; encoding?: string; authorization?: string; status: number }>;
  /** Bytes of response bodies sent so far (packs included). */
  bytesSent(): number;
  stop(): Promise<void>;
}

/** Starts the server; `requireToken` makes every request need `Authorization: Basic base64(username:token)`. */
export async function startGitHttpServer(opts: {
  root: string; requireToken?: { username: string; token: string }; protocolV0?: boolean;
  /** Address to listen on (default 127.0.0.1; any 127.x.y.z works on Linux). */
  host?: string;
}): Promise<GitHttpServer> {
  const children = new Set<ChildProcess>();
  const requests: GitHttpServer['requests'] = [];
  let sent = 0;
  const expected = opts.requireToken ? Buffer.from(`Basic ${Buffer.from(`${opts.requireToken.username}:${opts.requireToken.token}`).toString('base64')}`) : null;

  const server = createServer((req, res) => {
    const entry = { method: req.method ?? 'GET', path: req.url ?? '/', encoding: req.headers['content-encoding'], authorization: req.headers.authorization, status: 0 };
    requests.push(entry);
    res.on('finish', () => { entry.status = res.statusCode; });
    if (expected) {
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
        return res.end('authentication required\n');
      }
    }
    runCgi(req, res, opts, children, (n) => { sent += n; });
  });
  const sockets = trackSockets(server);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    requests,
    bytesSent: () => sent,
    url: (repoName) => `http://${host}:${port}/${repoName}`,
    stop: () => stopServer(server, sockets, children),
  };
}

function runCgi(req: IncomingMessage, res: ServerResponse, opts: { root: string; protocolV0?: boolean },
  children: Set<ChildProcess>, count: (n: number) => void): void {
  const u = new URL(req.url ?? '/', 'http://localhost');
  const h = req.headers;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_PROJECT_ROOT: opts.root,
    GIT_HTTP_EXPORT_ALL: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(u.pathname),
    QUERY_STRING: u.search.replace(/^\?/, ''),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
  };
  if (h['content-type']) env.CONTENT_TYPE = h['content-type'];
  if (h['content-length']) env.CONTENT_LENGTH = h['content-length'];
  if (h['content-encoding']) env.HTTP_CONTENT_ENCODING = h['content-encoding'];
  if (h['git-protocol'] && !opts.protocolV0) env.GIT_PROTOCOL = String(h['git-protocol']);
  if (h.authorization) env.REMOTE_USER = Buffer.from(h.authorization.replace(/^Basic /, ''), 'base64').toString().split(':')[0] ?? '';

  const child = spawn(BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.on('close', () => children.delete(child));
  child.on('error', (err) => { if (!res.headersSent) res.writeHead(500); res.end(String(err)); });
  req.pipe(child.stdin).on('error', () => {});
  child.stderr.resume();
  // The response (not the request: it 'closes' once its body is read) tells when the client went away.
  res.on('close', () => { if (!res.writableEnded) child.kill('SIGKILL'); });

  let head = Buffer.alloc(0);
  let headerDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headerDone) { count(chunk.length); res.write(chunk); return; }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const lf = head.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf + 4 : lf >= 0 ? lf + 2 : -1;
    if (end < 0) return;
    headerDone = true;
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    const body = head.subarray(end);
    count(body.length);
    res.write(body);
  });
  child.stdout.on('end', () => {
    if (!headerDone) { res.statusCode = 502; res.end('bad CGI response\n'); return; }
    res.end();
  });
}

/** A server that accepts connections and never answers: for timeouts and cancellation. */
export async function startHangingServer(): Promise<{
  url(path: string): string; port: number; connections(): number; headers: IncomingMessage['headers'][]; stop(): Promise<void>;
}> {
  let connections = 0;
  const headers: IncomingMessage['headers'][] = [];
  const server = createServer((req) => { headers.push(req.headers); /* and never respond */ });
  server.on('connection', () => { connections++; });
  const sockets = trackSockets(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (path) => `http://127.0.0.1:${port}/${path}`,
    port,
    headers,
    connections: () => connections,
    stop: () => stopServer(server, sockets, new Set()),
  };
}

function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return sockets;
}

async function stopServer(server: Server, sockets: Set<Socket>, children: Set<ChildProcess>): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const s of sockets) s.destroy();
  await closed;
}
