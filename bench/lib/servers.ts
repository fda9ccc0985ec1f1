// Servers the benchmarks start: BuildGrid as a separate process (with its admin and a non-admin reader) and a bare
// static file server (nginx, else node) as the upper bound for blob GETs.

import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, run, startDaemon, waitFor, which, type Daemon } from '../../test/harness/tools.ts';
import { api } from './load.ts';
import { compiledIsFresh } from '../../bin/fresh.mjs';

/** The checkout's root, and the launcher every benchmark runs BuildGrid (server and CLI) through. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** bin/buildgrid.mjs: runs dist/ while it is current (see ensureCompiled). */
export const BIN = join(ROOT, 'bin/buildgrid.mjs');
const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

/** The first-start administrator of every benchmarked BuildGrid. */
export const ADMIN = { email: 'admin@bench.local', password: 'bench-admin-password-1' };

let compiled: Promise<void> | null = null;

/**
 * Compiles src/ into dist/ (scripts/build.sh) when dist/ is older than the sources, so that `bin/buildgrid.mjs` runs
 * BuildGrid as installed: through tsx it would start slower and hold ≈ 60 MiB more. Once per process.
 */
export function ensureCompiled(): Promise<void> {
  compiled ??= (async () => {
    if (compiledIsFresh()) return;
    log('dist/ is older than src/: compiling (scripts/build.sh) so BuildGrid runs as installed');
    await run('bash', [join(ROOT, 'scripts/build.sh')], { timeoutMs: 300_000 });
    if (!compiledIsFresh()) throw new Error('scripts/build.sh ran but dist/ is still older than src/ (a source edited meanwhile?)');
  })();
  return compiled;
}

/** A BuildGrid `serve` process started by a benchmark. */
export interface BuildGridProc {
  daemon: Daemon;
  port: number;
  url: string;
  host: string;
  dataDir: string;
}

/**
 * Starts `buildgrid serve` as a separate process on a free loopback port (retrying on a port race) and waits for /v2/.
 * `env` adds configuration (e.g. a PostgreSQL URL and S3 settings for a cluster node); its log goes to dir/<logName>.
 */
export async function startBuildGrid(dir: string, dataDir: string, opts: { extraNodeArgs?: string[]; env?: Record<string, string>; logName?: string; publicUrl?: string } = {}): Promise<BuildGridProc> {
  const extraNodeArgs = opts.extraNodeArgs ?? [];
  await ensureCompiled();
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // BIN itself, as installations run it (its #! line carries BuildGrid's memory settings); extra node flags go
    // through NODE_OPTIONS.
    const daemon = await startDaemon(
      BIN,
      ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--public-url', opts.publicUrl ?? url],
      {
        cwd: ROOT,
        logFile: join(dir, opts.logName ?? 'buildgrid.log'),
        env: {
          // Nothing from the caller's own BuildGrid configuration (a database URL, an S3 bucket …) leaks in.
          ...Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('BUILDGRID_')).map((k) => [k, undefined])),
          BUILDGRID_ADMIN_EMAIL: ADMIN.email,
          BUILDGRID_ADMIN_PASSWORD: ADMIN.password,
          BUILDGRID_LOG_LEVEL: 'warn',
          ...(extraNodeArgs.length ? { NODE_OPTIONS: [process.env.NODE_OPTIONS, ...extraNodeArgs].filter(Boolean).join(' ') } : {}),
          ...opts.env,
        },
      },
    );
    try {
      await waitFor(
        async () => {
          if (!daemon.running()) throw new Error('buildgrid exited');
          const r = await fetch(`${url}/v2/`);
          await r.arrayBuffer();
          return r.status === 401 || r.status === 200;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: `BuildGrid on ${url}`, describe: () => daemon.logTail() },
      );
      return { daemon, port, url, host: `127.0.0.1:${port}`, dataDir };
    } catch (e) {
      lastErr = e;
      const tailText = await daemon.logTail();
      await daemon.stop(2_000);
      if (!/EADDRINUSE|address already in use/i.test(tailText)) throw e;
    }
  }
  throw lastErr;
}

/**
 * Logs in as admin (API token: what seeding pushes with) and makes a non-admin reader in account `bench`, whose
 * registry credentials are what every read row uses — the realistic hot path (membership-based access rules), not
 * the admin shortcut. Falls back to the admin's API token when the reader cannot be made.
 */
export async function buildGridCredentials(bg: BuildGridProc): Promise<{ adminToken: string; reader: { username: string; password: string }; readerKind: string }> {
  const login = await api<{ token: string }>(bg.url, null, 'POST', '/auth/login', ADMIN);
  if (login.status !== 200) throw new Error(`BuildGrid admin login failed: ${login.status} ${JSON.stringify(login.body)}`);
  const adminToken = login.body.token;
  try {
    const acct = await api(bg.url, adminToken, 'POST', '/accounts', { name: 'bench' });
    if (acct.status !== 201) throw new Error(`create account: ${acct.status} ${JSON.stringify(acct.body)}`);
    const reader = { email: 'reader@bench.local', password: 'bench-reader-password-1' };
    const u = await api(bg.url, adminToken, 'POST', '/users', { ...reader, account: 'bench', role: 'viewer' });
    if (u.status !== 201) throw new Error(`create user: ${u.status} ${JSON.stringify(u.body)}`);
    const rl = await api<{ token: string }>(bg.url, null, 'POST', '/auth/login', reader);
    if (rl.status !== 200) throw new Error(`reader login: ${rl.status}`);
    const c = await api<{ username: string; password: string }>(bg.url, rl.body.token, 'GET', '/credentials');
    if (c.status !== 200 || !c.body.username) throw new Error(`credentials: ${c.status} ${JSON.stringify(c.body)}`);
    return { adminToken, reader: { username: c.body.username, password: c.body.password }, readerKind: 'a viewer of account bench (registry username/password)' };
  } catch (e) {
    log(`could not create a non-admin reader (${(e as Error).message}); reading as admin with its API token`);
    return { adminToken, reader: { username: 'admin', password: adminToken }, readerKind: 'admin (API token as password)' };
  }
}

/**
 * A bare static file server over `root`, as the upper bound for blob GETs. With nginx: one process, two locations over
 * the same files — /sendfile/ (sendfile on) and /buffered/ (sendfile off, 2 × 1 MiB output buffers). Neither always
 * wins: on this VM loopback sendfile measured ~0.8 GB/s against ~2.2 GB/s for buffered reads, elsewhere sendfile is
 * usually faster. Each blob sample runs both and keeps the faster. Without nginx: a node server with 1 MiB
 * fs.createReadStream chunks.
 */
export async function startBareServer(dir: string, root: string): Promise<{ urls: string[]; kind: string; pid: number; stop(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  const nginx = which('nginx') ?? which('/usr/sbin/nginx');
  if (nginx) {
    const conf = join(dir, 'nginx.conf');
    const tmpPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${join(dir, k)};`).join(' ');
    await writeFile(
      conf,
      `user root; worker_processes auto; daemon off; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http { access_log off; default_type application/octet-stream; ${tmpPaths}
  server { listen 127.0.0.1:${port};
    location /sendfile/ { alias ${root}/; sendfile on; tcp_nopush on; }
    location /buffered/ { alias ${root}/; sendfile off; output_buffers 2 1m; } } }
`,
    );
    const version = (await run(nginx, ['-v'])).stderr.trim().replace(/^nginx version: /, '');
    const d = await startDaemon(nginx, ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { logFile: join(dir, 'nginx.out') });
    await waitUp(`http://127.0.0.1:${port}/`, d);
    return {
      urls: [`http://127.0.0.1:${port}/sendfile`, `http://127.0.0.1:${port}/buffered`],
      kind: `${version}, ${cpus().length} workers, faster per sample of sendfile on / sendfile off with 2 × 1 MiB output_buffers`,
      pid: d.pid,
      stop: () => d.stop(5_000),
    };
  }
  const script = `
    const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
    const root = ${JSON.stringify(root)};
    http.createServer((req, res) => {
      const p = path.join(root, path.normalize(decodeURIComponent(req.url.split('?')[0])));
      fs.stat(p, (err, st) => {
        if (err || !st.isFile()) { res.writeHead(404).end(); return; }
        res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
        fs.createReadStream(p, { highWaterMark: 1 << 20 }).pipe(res);
      });
    }).listen(${port}, '127.0.0.1');`;
  const d = await startDaemon(process.execPath, ['-e', script], { logFile: join(dir, 'node-bare.log') });
  await waitUp(`http://127.0.0.1:${port}/`, d);
  return { urls: [`http://127.0.0.1:${port}`], kind: 'node http + fs.createReadStream (1 MiB chunks) — nginx not installed', pid: d.pid, stop: () => d.stop(5_000) };
}

/** Waits until `url` answers (anything) while daemon `d` runs. */
export async function waitUp(url: string, d: Daemon): Promise<void> {
  await waitFor(
    async () => {
      if (!d.running()) throw new Error('server exited');
      const r = await fetch(url);
      await r.arrayBuffer();
      return true;
    },
    { timeoutMs: 15_000, intervalMs: 50, what: url, describe: () => d.logTail() },
  );
}

