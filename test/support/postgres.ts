// PostgreSQL for tests.
//
// BUILDGRID_TEST_DATABASE_URL (exported by .ci/run, which starts a throwaway cluster) names a server whose user may
// CREATE DATABASE. Without it, a throwaway cluster is started here from Debian's binaries (initdb + postgres, as the
// `postgres` user when running as root) on a free loopback port, and removed by stop() — and, as a safety net, killed
// when the test process exits. When neither works, testPostgres() says why and the caller skips its PostgreSQL part
// through test/harness/require.ts (loudly; a failure under BUILDGRID_TEST_REQUIRE).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, which } from '../harness/tools.ts';

/** A database created for one test (or one suite); drop() removes it (idempotent). */
export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A PostgreSQL server tests may create databases on. */
export interface TestPostgres {
  /** Where the server came from: 'BUILDGRID_TEST_DATABASE_URL' or 'throwaway cluster (…)'. */
  source: string;
  /** URL of the maintenance database (admin connection). */
  adminUrl: string;
  /** Creates an empty database, or a copy of `template` (which must have no open connections). */
  createDatabase(template?: string): Promise<TestDatabase>;
  /** Drops the databases this handle created and stops a cluster it started (removing its files). Idempotent. */
  stop(): Promise<void>;
}

let counter = 0;

/** Connects to BUILDGRID_TEST_DATABASE_URL or starts a throwaway cluster; resolves to `{ skip }` when neither works. */
export async function testPostgres(): Promise<TestPostgres | { skip: string }> {
  const given = process.env.BUILDGRID_TEST_DATABASE_URL;
  if (given) {
    try {
      return await connectAdmin(given, 'BUILDGRID_TEST_DATABASE_URL', async () => undefined);
    } catch (err) {
      return { skip: `BUILDGRID_TEST_DATABASE_URL is set but unusable: ${(err as Error).message}` };
    }
  }
  const cluster = await startThrowawayCluster();
  if ('skip' in cluster) return cluster;
  try {
    return await connectAdmin(cluster.url, `throwaway cluster (${cluster.dir})`, cluster.stop);
  } catch (err) {
    await cluster.stop();
    return { skip: `the throwaway cluster started but refuses connections: ${(err as Error).message}` };
  }
}

async function connectAdmin(url: string, source: string, stopServer: () => Promise<void>): Promise<TestPostgres> {
  const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  admin.on('error', () => undefined);
  const fileCopy = Number((await admin.query('show server_version_num')).rows[0].server_version_num) >= 150000;
  const created = new Set<string>();
  const prefix = `bgt_${process.pid}_${Date.now().toString(36)}`;
  const drop = async (name: string) => {
    if (!created.delete(name)) return;
    // pg's Pool.end() resolves before its connections have closed; give them a moment to go, since FORCE sends an
    // error to any still open, and a pg client without an 'error' listener would crash the test process.
    for (let i = 0; i < 50; i++) {
      const { rows } = await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
      if (rows[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  };
  let stopped: Promise<void> | null = null;
  return {
    source,
    adminUrl: url,
    async createDatabase(template) {
      const name = `${prefix}_${++counter}`;
      // FILE_COPY (PostgreSQL 15+) copies the template's files instead of WAL-logging every block: about twice as fast.
      const strategy = fileCopy ? ' STRATEGY FILE_COPY' : '';
      await admin.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"${strategy}` : ''}`);
      created.add(name);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return { name, url: u.toString(), drop: () => drop(name) };
    },
    stop() {
      stopped ??= (async () => {
        for (const name of [...created]) await drop(name).catch(() => undefined);
        await admin.end().catch(() => undefined);
        await stopServer();
      })();
      return stopped;
    },
  };
}

/** Debian keeps initdb and postgres out of PATH, under /usr/lib/postgresql/<major>/bin; the newest wins. */
function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const m of majors) if (existsSync(join(root, m, 'bin', 'initdb'))) return join(root, m, 'bin');
  }
  const initdb = which('initdb');
  return initdb ? initdb.slice(0, initdb.lastIndexOf('/')) : null;
}

/** uid/gid of the `postgres` user (initdb refuses to run as root). */
function postgresUser(): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) return null;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

const liveClusters = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of liveClusters) c.kill('SIGKILL'); // safety net only: stop() is the way out
});

async function startThrowawayCluster(): Promise<{ url: string; dir: string; stop(): Promise<void> } | { skip: string }> {
  const bin = postgresBinDir();
  if (!bin) return { skip: 'no PostgreSQL server binaries (initdb) found under /usr/lib/postgresql or in PATH' };
  const asRoot = process.getuid?.() === 0;
  const user = asRoot ? postgresUser() : null;
  if (asRoot && !user) return { skip: 'running as root but there is no `postgres` user to run the server as' };
  const ids = user ? { uid: user.uid, gid: user.gid } : {};
  const dir = mkdtempSync('/tmp/bg-pg-');
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    ...ids, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, timeout: 120_000,
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: `initdb failed: ${(init.stderr || init.error?.message || '').trim().split('\n').slice(-3).join(' / ')}` };
  }
  const port = await freePort();
  const child = spawn(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1',
    // A throwaway cluster: durability buys nothing, and fsync dominates CREATE DATABASE and commits.
    '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
  ], { ...ids, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => { log = (log + b.toString()).slice(-4000); });
  liveClusters.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => { liveClusters.delete(child); resolve(); }));
  const stop = async () => {
    if (liveClusters.has(child)) {
      child.kill('SIGINT'); // fast shutdown: disconnects clients, no checkpoint wait for them
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    try {
      await c.connect();
      await c.end();
      return { url, dir, stop };
    } catch {
      await c.end().catch(() => undefined);
      if (!liveClusters.has(child) || Date.now() > deadline) {
        await stop();
        return { skip: `the throwaway PostgreSQL did not start: ${log.trim().split('\n').slice(-3).join(' / ')}` };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
