import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Of } from '../../src/core/digest.ts';
import { RegistryClient } from '../../src/oci/client.ts';
import { makeBusyboxImage } from '../harness/busybox.ts';
import { freePort, removeTree } from '../harness/tools.ts';
import { makeGitRepo } from '../support/git-repos.ts';
import { partMissing } from '../harness/require.ts';
import { testPostgres, type TestDatabase, type TestPostgres } from '../support/postgres.ts';
import { startTestS3, type TestS3 } from '../support/s3.ts';
import { ADMIN } from '../support/server.ts';
import { importImage } from '../support/world.ts';
import { readSse, spawnBuildgrid, startBalancer, waitReady, type Proc } from './support.ts';

// Two `serve` nodes on one database and one blob store behind one address, no in-process workers, and two
// `buildgrid worker` processes: deploy through node A, follow the log through node B, kill node A and a worker
// (kill -9) mid-deployment; the deployment finishes and both images pull through node B.
let tmp: string;
let pgServer: TestPostgres | null = null;
let db: TestDatabase | null = null;
let s3: TestS3 | null = null;
let lb: Awaited<ReturnType<typeof startBalancer>>;
const ports: number[] = [];
const nodes: Proc[] = [];
const workers: Proc[] = [];
let backendEnv: Record<string, string> = {};

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bg-cluster-'));
  const pgs = await testPostgres();
  if ('skip' in pgs) {
    partMissing('postgres', 'the PostgreSQL + S3 variant of the cluster test (running on SQLite over a shared data directory instead)', pgs.skip);
    backendEnv = { BUILDGRID_EVENT_FANOUT: 'poll' };
  } else {
    pgServer = pgs;
    db = await pgs.createDatabase();
    s3 = await startTestS3();
    const c = s3.settings;
    backendEnv = {
      BUILDGRID_DATABASE_URL: db.url, BUILDGRID_S3_BUCKET: c.bucket, BUILDGRID_S3_ENDPOINT: c.endpoint, BUILDGRID_S3_REGION: c.region,
      BUILDGRID_S3_ACCESS_KEY_ID: c.accessKeyId, BUILDGRID_S3_SECRET_ACCESS_KEY: c.secretAccessKey, BUILDGRID_S3_FORCE_PATH_STYLE: 'true',
    };
    console.log(`cluster test on PostgreSQL (${pgs.source}) and S3 (${s3.source})`);
  }
  ports.push(await freePort(), await freePort());
  lb = await startBalancer(ports);
});

after(async () => {
  for (const p of [...workers, ...nodes]) await p.kill();
  await lb?.close();
  await db?.drop().catch(() => undefined);
  await pgServer?.stop();
  await s3?.stop();
  await removeTree(tmp);
});

const nodeEnv = (port: number): NodeJS.ProcessEnv => ({
  ...process.env, BUILDGRID_PORT: String(port), BUILDGRID_HOST: '127.0.0.1', BUILDGRID_DATA_DIR: join(tmp, 'data'),
  BUILDGRID_PUBLIC_URL: `http://127.0.0.1:${lb.port}`, BUILDGRID_ADMIN_EMAIL: ADMIN.email, BUILDGRID_ADMIN_PASSWORD: ADMIN.password,
  BUILDGRID_ALLOW_LOCAL_GIT: 'true', BUILDGRID_BUILD_HEARTBEAT_SECONDS: '0.5', BUILDGRID_BUILD_STALE_SECONDS: '4',
  BUILDGRID_BUILD_CONCURRENCY: '0', BUILDGRID_LOG_LEVEL: 'warn', ...backendEnv,
  // acme's two builds must run on both workers at once; the fair default (half of 2 slots) would run them in turn.
  BUILDGRID_MAX_CONCURRENT_BUILDS_PER_ACCOUNT: '2',
});

async function call(port: number, token: string | null, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
    method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

test('two nodes and two workers: deploy on A, follow on B, lose A and a worker, pull everything from B', { timeout: 420_000 }, async () => {
  const [portA, portB] = ports as [number, number];
  nodes.push(spawnBuildgrid(['serve'], nodeEnv(portA)));
  await waitReady(portA, nodes[0]!); // the first node migrates; the second finds the schema current
  nodes.push(spawnBuildgrid(['serve'], nodeEnv(portB)));
  await waitReady(portB, nodes[1]!);

  const admin = (await call(portA, null, 'POST', '/auth/login', { email: ADMIN.email, password: ADMIN.password })).token as string;
  await call(portB, admin, 'POST', '/accounts', { name: 'library' });
  await call(portA, admin, 'POST', '/accounts', { name: 'acme' });
  const host = `127.0.0.1:${lb.port}`;
  const img = await makeBusyboxImage(join(tmp, 'busybox'));
  await importImage(`http://${host}`, admin, img.layoutDir, 'library/busybox', '1');

  const wt = await call(portB, admin, 'POST', '/admin/worker-tokens', { name: 'test-workers' });
  for (const n of [1, 2]) {
    workers.push(spawnBuildgrid(['worker', '--server', `http://${host}`, '--concurrency', '1', '--work-dir', join(tmp, `worker${n}`), '--allow-local-git'],
      { ...process.env, BUILDGRID_LOG_LEVEL: 'warn', BUILDGRID_WORKER_TOKEN: wt.token }));
  }

  await call(portA, admin, 'POST', '/accounts/acme/apps', { name: 'shop' });
  for (const svc of ['web', 'api']) {
    const repo = await makeGitRepo(join(tmp, `git-${svc}`), {
      Dockerfile: `FROM ${host}/library/busybox:1\nRUN echo building-${svc} && sleep 8 && echo ${svc} > /svc.txt\nCMD ["cat", "/svc.txt"]\n`,
    });
    await call(portA, admin, 'POST', '/accounts/acme/apps/shop/services', { name: svc, gitUrl: repo.url });
  }
  const dep = await call(portA, admin, 'POST', '/accounts/acme/apps/shop/deploy', {});
  assert.equal(dep.builds.length, 2);
  const followed = dep.builds[0].id as string;
  const sse = fetch(`http://127.0.0.1:${portB}/api/v1/builds/${followed}/log/stream`, { headers: { authorization: `Bearer ${admin}` } }).then(readSse);

  // Both builds running on the two workers, past pulling their base image: kill one worker and node A.
  for (let i = 0; ; i++) {
    const builds = await call(portB, admin, 'GET', '/accounts/acme/apps/shop/builds');
    if (builds.filter((b: any) => b.status === 'building').length === 2) break;
    assert.ok(i < 400, `builds did not both start: ${JSON.stringify(builds.map((b: any) => b.status))}\n${workers.map((w) => w.output()).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 3000));
  await workers[0]!.kill();
  await nodes[0]!.kill();

  let final: any[] = [];
  for (let i = 0; ; i++) {
    final = await call(portB, admin, 'GET', '/accounts/acme/apps/shop/builds');
    if (final.every((b: any) => ['succeeded', 'failed', 'cancelled'].includes(b.status))) break;
    assert.ok(i < 600, `builds not final: ${JSON.stringify(final.map((b: any) => [b.status, b.attempt]))}\n${workers[1]!.output()}\n${nodes[1]!.output()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  for (const b of final) assert.equal(b.status, 'succeeded', `${b.serviceName}: ${b.error}\n${workers[1]!.output()}`);
  assert.ok(final.some((b: any) => b.attempt === 2), 'the killed worker\'s build was reclaimed and retried');
  // The deployment concludes just after its last build's final update (or at a node's next re-check).
  let deployment: any;
  for (let i = 0; ; i++) {
    const timeline = await call(portB, admin, 'GET', '/accounts/acme/apps/shop/timeline');
    deployment = timeline.find((e: any) => e.kind === 'deployment' && e.id === dep.deployment.id);
    if (deployment?.status !== 'running' || i >= 40) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(deployment?.status, 'succeeded');

  const events = await sse;
  const lines = events.filter((e) => e.event === 'line').map((e) => e.data.text as string);
  assert.ok(lines.some((l) => l.includes('Fetching')), `the followed log shows the fetch: ${lines.slice(0, 5).join(' | ')}`);
  assert.ok(lines.some((l) => l.startsWith('Digest sha256:')), 'the followed log reached the push');
  assert.deepEqual(events.at(-1)?.event, 'end');
  assert.equal(events.at(-1)?.data.status, 'succeeded');

  // Pull both images through node B (the token realm is the cluster address, now served by B alone).
  const puller = new RegistryClient({ baseUrl: `http://127.0.0.1:${portB}`, username: 'admin', password: admin });
  for (const b of final) {
    const repo = b.image.slice(host.length + 1).split(':')[0] as string;
    const scope = `repository:${repo}:pull`;
    const mres = await puller.request('GET', `/v2/${repo}/manifests/${b.commit}`, scope, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
    assert.equal(mres.status, 200, `${repo}: manifest`);
    const manifest = JSON.parse(await mres.text());
    for (const d of [manifest.config, ...manifest.layers]) {
      const r = await puller.request('GET', `/v2/${repo}/blobs/${d.digest}`, scope);
      assert.equal(r.status, 200, `${repo}: blob ${d.digest}`);
      assert.equal(sha256Of(Buffer.from(await r.arrayBuffer())), d.digest);
    }
  }
});
