// The scale-out backends end to end: `buildgrid serve` (in process) on PostgreSQL + an S3 bucket (s3rver) with
// presigned blob redirects; an administrator imports busybox with the real CLI, skopeo pulls it with BuildGrid
// credentials (following the 307s to the bucket), a large layer goes through chunked multipart uploads, and the
// bytes and rows end up in the bucket and the database — nothing under the data directory's storage/.
//
// Needs Debian's postgresql (or BUILDGRID_TEST_DATABASE_URL), skopeo and busybox-static.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { createS3Client } from '../../src/storage/s3-client.ts';
import { listObjects } from '../../src/storage/s3-objects.ts';
import { makeBusyboxImage, type BusyboxImage } from '../harness/busybox.ts';
import { run, tempDir, type TempDir } from '../harness/tools.ts';
import { ROOT } from '../clients/support.ts';
import { skipOrFail } from '../harness/require.ts';
import { testPostgres, type TestDatabase, type TestPostgres } from '../support/postgres.ts';
import { startTestS3, type TestS3 } from '../support/s3.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { adminClient, makeWorld, pushRandomImage, type World } from '../support/world.ts';

const server = await testPostgres();
if ('skip' in server) {
  const why = server.skip;
  test('buildgrid serve on PostgreSQL + S3', (t) => skipOrFail(t, 'postgres', why));
} else {
  let pgServer: TestPostgres = server;
  let db: TestDatabase;
  let s3: TestS3;
  let s: TestServer;
  let w: World;
  let img: BusyboxImage;
  let tmp: TempDir;

  before(async () => {
    tmp = await tempDir('bg-scale-');
    db = await pgServer.createDatabase();
    s3 = await startTestS3();
    const c = s3.settings;
    s = await startTestServer({
      databaseUrl: db.url, s3Bucket: c.bucket, s3Endpoint: c.endpoint, s3Region: c.region, s3AccessKeyId: c.accessKeyId,
      s3SecretAccessKey: c.secretAccessKey, s3ForcePathStyle: true, s3PresignRedirect: true, buildConcurrency: 0,
    });
    w = await makeWorld(s);
    img = await makeBusyboxImage(join(tmp.path, 'img'), { extraFiles: { 'etc/motd': 'served from a bucket\n' } });
  });
  after(async () => {
    await s?.stop();
    await s3?.stop();
    await pgServer.stop();
    await tmp?.cleanup();
  });

  test('an imported image is stored in the bucket and PostgreSQL, and skopeo pulls it through presigned redirects', async () => {
    const imp = await run(process.execPath, [join(ROOT, 'bin', 'buildgrid.mjs'), 'import', img.layoutDir, 'acme/busybox:1.36', '--json'], {
      cwd: ROOT, timeoutMs: 60_000,
      env: { BUILDGRID_SERVER: s.url, BUILDGRID_TOKEN: w.adminToken, XDG_CONFIG_HOME: join(tmp.path, 'cli'), NO_COLOR: '1' },
    });
    assert.equal(imp.code, 0, imp.stderr);
    const digest = (JSON.parse(imp.stdout) as { digest: string }).digest;

    const out = join(tmp.path, 'pulled');
    const { username, password } = w.acmeViewer.registry;
    const pull = await run('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', `${username}:${password}`,
      `docker://${s.host}/acme/busybox:1.36`, `oci:${out}:pulled`], { timeoutMs: 120_000, env: { HOME: tmp.path, TMPDIR: tmp.path } });
    assert.equal(pull.code, 0, pull.stderr);
    assert.ok(existsSync(join(out, 'index.json')));

    // A blob GET is a 307 to the bucket; the bucket serves the bytes (and ranges).
    const token = Buffer.from(`${username}:${password}`).toString('base64');
    const layer = img.layers[0]!;
    const res = await fetch(`${s.url}/v2/acme/busybox/blobs/${layer.digest}`, { headers: { authorization: `Basic ${token}` }, redirect: 'manual' });
    assert.equal(res.status, 307);
    const location = res.headers.get('location')!;
    assert.ok(location.startsWith(`${s3.settings.endpoint}/${s3.settings.bucket}/blobs/sha256/`), location);
    const ranged = await fetch(location, { headers: { Range: 'bytes=0-9' } });
    assert.equal(ranged.status, 206);
    assert.equal((await ranged.arrayBuffer()).byteLength, 10);
    const head = await fetch(`${s.url}/v2/acme/busybox/blobs/${layer.digest}`, { method: 'HEAD', headers: { authorization: `Basic ${token}` } });
    assert.equal(head.status, 200, 'HEAD is answered by the server');

    // Rows in PostgreSQL, bytes in the bucket, nothing in the data directory's blob store.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query('select t.digest from tags t join repositories r on r.id = t.repo_id where r.name = $1 and t.name = $2', ['acme/busybox', '1.36']);
      assert.deepEqual(rows, [{ digest }]);
    } finally {
      await client.end();
    }
    const s3c = createS3Client(s3.settings);
    try {
      const keys = (await listObjects({ client: s3c, bucket: s3.settings.bucket, where: 'test' }, 'blobs/')).map((o) => o.key);
      assert.ok(keys.includes(`blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`), 'the manifest is in the bucket');
    } finally {
      s3c.destroy();
    }
    assert.equal(existsSync(join(s.dataDir, 'storage', 'blobs')), false);
  });

  test('a large layer goes through a multipart upload (parts plus tail) and pulls back intact', async () => {
    const client = adminClient(s, w.adminToken);
    const pushed = await pushRandomImage(client, 'acme/big', 'v1', { layers: 1, layerSize: 12 * 1024 * 1024 + 7 });
    const layer = pushed.layers[0]!;
    const { username, password } = w.acmeOwner.registry;
    const res = await fetch(`${s.url}/v2/acme/big/blobs/${layer.digest}`, {
      headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
    });
    assert.equal(res.status, 200, 'fetch follows the redirect');
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(layer.bytes));
  });
}
