import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { sha256Of } from '../../src/core/digest.ts';
import { RegistryClient } from '../../src/oci/client.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { freePort } from '../harness/tools.ts';
import { cli } from '../support/cli.ts';
import { ADMIN } from '../support/server.ts';
import { basic } from '../support/world.ts';
import { pullImage, sleep, storeBytes } from './support.ts';

/*
 * kill -9 of the server at random points of a lifecycle pass (retention, mark, sweep batches of 2 blobs), then a
 * restart: every kept image is complete at once, fsck is clean, and the next pass finishes what the killed one
 * started. Runs a real `buildgrid serve` process and drives it with the real CLI.
 */
const BIN = fileURLToPath(new URL('../../bin/buildgrid.mjs', import.meta.url));
const ROUNDS = 5;
let tmp: string;
let port: number;
let url: string;
let server: ChildProcess | null = null;
let env: Record<string, string>;
let client: RegistryClient;
let auth: string;
let token: string;
/** Images pulled at some point: the policy (--pulled-days 30) keeps them. */
const pulled = new Set<string>();
const pull = async (tag: string) => {
  pulled.add(tag);
  await pullImage(url, auth, 'acme/shop.web', tag);
};
const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${url}/api/v1${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.json() as any };
};

async function startServer(): Promise<void> {
  server = spawn(process.execPath, [BIN, 'serve'], {
    env: {
      ...process.env, BUILDGRID_PORT: String(port), BUILDGRID_HOST: '127.0.0.1', BUILDGRID_DATA_DIR: join(tmp, 'data'),
      BUILDGRID_PUBLIC_URL: url, BUILDGRID_ADMIN_EMAIL: ADMIN.email, BUILDGRID_ADMIN_PASSWORD: ADMIN.password,
      BUILDGRID_ALLOW_LOCAL_GIT: 'true', BUILDGRID_BUILD_CONCURRENCY: '0', BUILDGRID_LOG_LEVEL: 'warn',
      BUILDGRID_GC_MIN_BLOB_AGE_SECONDS: '1', BUILDGRID_GC_BATCH_SIZE: '2', BUILDGRID_GC_INTERVAL_MINUTES: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  server.stderr!.resume();
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch { /* not yet */ }
    await sleep(200);
  }
  throw new Error('server did not start');
}

async function kill9(): Promise<void> {
  const s = server!;
  if (s.exitCode === null) {
    s.kill('SIGKILL');
    await new Promise((r) => s.once('exit', r));
  }
  server = null;
}

let n = 0;
/** Pushes a small untracked image (2 random layers) as acme/shop.web:<tag>. */
async function push(): Promise<string> {
  const tag = `v${++n}`;
  const layers = [randomBytes(4096), randomBytes(4096)];
  const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', tag }));
  for (const b of [...layers, config]) await client.uploadBlob('acme/shop.web', sha256Of(b), b.length, () => Readable.from([b]));
  await client.putManifest('acme/shop.web', tag, MediaType.ociManifest, Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: sha256Of(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: MediaType.ociLayerGzip, digest: sha256Of(l), size: l.length })),
  })));
  return tag;
}

const bg = async (args: string[]) => {
  const r = await cli(args, env);
  if (r.code !== 0) throw new Error(`buildgrid ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
};

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bg-gc-crash-'));
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  await startServer();
  // Setup through the API (each CLI run costs seconds); the lifecycle commands below go through the CLI.
  const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ADMIN) });
  token = ((await login.json()) as { token: string }).token;
  env = { BUILDGRID_SERVER: url, BUILDGRID_TOKEN: token };
  client = new RegistryClient({ baseUrl: url, username: 'admin', password: token });
  auth = basic('admin', token);
  assert.equal((await admin('POST', '/accounts', { name: 'acme' })).status, 201);
  assert.equal((await admin('POST', '/accounts/acme/apps', { name: 'shop' })).status, 201);
  assert.equal((await admin('POST', '/accounts/acme/apps/shop/services', { name: 'web', gitUrl: 'file:///nonexistent/web.git' })).status, 201);
});
after(async () => {
  if (server) await kill9();
  rmSync(tmp, { recursive: true, force: true });
});

test('kill -9 at random points of garbage collection: kept images survive, fsck is clean after restart', async () => {
  const favourites = [await push(), await push()];
  for (const t of favourites) await pull(t); // pulled: kept by the policy
  assert.equal((await admin('PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 4, graceDays: 0, keepPulledWithinDays: 30 })).status, 200);
  const pushed: string[] = [];
  const killedAt: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < 20; i++) pushed.push(await push());
    await sleep(1100); // past the collection fence
    const start = await admin('POST', '/admin/gc', { retention: true });
    assert.equal(start.status, 202, JSON.stringify(start.body));
    // Odd rounds: at a random moment (retention, mark, sweep or after the end). Even rounds: the moment a sweep
    // batch shows up in gc-trash/, i.e. inside a sweep (mid-transaction, or committed but not yet purged).
    const t0 = Date.now();
    if (round % 2 === 1) await sleep(10 + Math.floor(Math.random() * 400));
    else while (!existsSync(join(tmp, 'data', 'storage', 'gc-trash')) || readdirSync(join(tmp, 'data', 'storage', 'gc-trash')).length === 0) {
      if (Date.now() - t0 > 5000) break;
      await sleep(1);
    }
    const delay = Date.now() - t0;
    killedAt.push(delay);
    await kill9();
    await startServer();
    // Nothing kept was lost, even before any further collection (pulling them keeps them from now on).
    for (const t of [...favourites, ...pushed.slice(-4)]) await pull(t);
    const fsck = await admin('POST', '/admin/fsck', { wait: true });
    assert.equal(fsck.body.report?.fsck.exitCode, 0, `round ${round} (killed after ${delay} ms): ${JSON.stringify(fsck.body).slice(0, 800)}`);
  }

  // The next pass finishes the job; the killed ones are in the history as interrupted.
  const gc = await bg(['gc', '--json']);
  assert.equal(gc.json.status, 'succeeded');
  assert.equal((await admin('POST', '/admin/gc', { wait: true })).body.report.retention.totals.removed, 0);
  const keep = new Set([...pulled, ...pushed.slice(-4)]);
  for (const t of keep) await pullImage(url, auth, 'acme/shop.web', t);
  for (const t of pushed.filter((x) => !keep.has(x))) await assert.rejects(pullImage(url, auth, 'acme/shop.web', t), /HTTP 404/);
  assert.equal((await admin('POST', '/admin/fsck', { wait: true })).body.report.fsck.exitCode, 0);
  const store = await storeBytes(join(tmp, 'data'));
  assert.ok(store.files <= keep.size * 4, `only the ${keep.size} kept images' blobs remain (${store.files} files)`);
  const history = (await admin('GET', '/admin/lifecycle/runs?limit=50')).body;
  const interrupted = history.filter((r: any) => r.status === 'failed' && /interrupted/.test(r.error));
  console.log(`gc crash rounds: killed after ${killedAt.join(', ')} ms; ${interrupted.length} runs interrupted`);
  // Every even round killed a sweep in progress.
  assert.ok(interrupted.length >= Math.ceil(ROUNDS / 2), `killed after ${killedAt.join(', ')} ms; history: ${JSON.stringify(history.map((r: any) => [r.kind, r.status]))}`);
});

test('the command line: dry runs, history, usage, the trash and fsck exit codes', async () => {
  await admin('PUT', '/accounts/acme/apps/shop/retention', { keepLastPerBranch: 4, graceDays: 0, keepPulledWithinDays: 0 });
  for (let i = 0; i < 3; i++) await push();
  await sleep(1100);
  const dry = await bg(['gc', '--dry-run', '--json']);
  assert.equal(dry.json.dryRun, true);
  const wouldGo = dry.json.report.retention.applications[0].decisions.filter((d: any) => d.status === 'would-remove').map((d: any) => d.digest).sort();
  assert.ok(wouldGo.length >= 3, `would remove ${wouldGo.length}`);
  const human = await bg(['retention', 'run', 'acme/shop', '--dry-run']);
  assert.match(human.stdout, new RegExp(`would remove ${wouldGo.length} of \\d+ images`));

  await bg(['retention', 'set', 'acme/shop', '--keep-last', '4', '--grace-days', '7', '--pulled-days', '0']);
  const real = await bg(['retention', 'run', 'acme/shop', '--json']);
  assert.deepEqual(real.json.applications[0].decisions.filter((d: any) => d.status === 'removed').map((d: any) => d.digest).sort(), wouldGo);
  const trash = await bg(['trash', '--account', 'acme', '--json']);
  assert.equal(trash.json.length, wouldGo.length);
  const restored = await bg(['trash', 'restore', trash.json[0].id, '--account', 'acme']);
  assert.match(restored.stdout, /Restored .*acme\/shop\.web:v\d+/);
  await pull(trash.json[0].tags[0]);

  const usage = await bg(['usage', '--account', 'acme', '--json']);
  assert.ok(usage.json.applications[0].uniqueBytes > 0, 'the application has bytes of its own');
  const history = await bg(['gc', 'history', '--json']);
  assert.equal(history.json[0].kind, 'retention');
  assert.ok(history.json.some((r: any) => r.kind === 'gc' && r.dryRun), 'the dry run is in the history');
  assert.match((await bg(['retention', 'show', 'acme/shop'])).stdout, /keep the last 4 per branch/);

  // A corrupt blob: fsck says so (exit 2), --repair quarantines it (exit 1), then the store is healthy (exit 0).
  const { storePaths } = await import('../../src/storage/paths.ts');
  const { readdir, writeFile } = await import('node:fs/promises');
  const p = storePaths(join(tmp, 'data', 'storage'));
  let victim: string | undefined;
  for (const fan of await readdir(join(p.blobsDir, 'sha256'))) {
    const files = await readdir(join(p.blobsDir, 'sha256', fan)); // fan-out directories emptied by collections stay
    if (files.length > 0) { victim = join(p.blobsDir, 'sha256', fan, files[0]!); break; }
  }
  await writeFile(victim!, 'not what the name says');
  const bad = await cli(['fsck'], env);
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(bad.stdout, /blob-corrupt/);
  const fixed = await cli(['fsck', '--repair', '--json'], env);
  assert.equal(fixed.code, 1, fixed.stdout + fixed.stderr);
  assert.equal((await cli(['fsck'], env)).code, 0);
});
