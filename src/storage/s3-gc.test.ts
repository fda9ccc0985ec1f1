import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startTestS3 } from '../../test/support/s3.ts';
import { sha256Of } from '../core/digest.ts';
import { randomId } from '../core/ids.ts';
import { createS3BlobStore } from './s3-blobs.ts';
import { createS3Client } from './s3-client.ts';
import { createS3BlobMaintenance } from './s3-gc.ts';
import { deleteObject, listObjects, putObject } from './s3-objects.ts';

const s3 = await startTestS3();
const client = createS3Client(s3.settings);
const bucket = { client, bucket: s3.settings.bucket, where: s3.source };
after(async () => {
  client.destroy();
  await s3.stop();
});

test('s3 blob maintenance: list, trash with an age guard, restore, purge, verify and quarantine', async () => {
  const prefix = `t-${randomId(6)}/`;
  const store = createS3BlobStore({ client, settings: s3.settings, prefix });
  const m = createS3BlobMaintenance({ client, settings: s3.settings, prefix });
  try {
    const [a, b, c] = await Promise.all(['alpha', 'beta', 'gamma'].map((x) => store.put(Buffer.from(x))));
    await putObject(bucket, `${prefix}blobs/sha256/zz/not-a-digest`, Buffer.from('stray'));
    const listed = [];
    for await (const page of m.list(2)) {
      assert.ok(page.length <= 2);
      listed.push(...page);
    }
    assert.deepEqual(listed.map((e) => e.digest).filter(Boolean).sort(), [a, b, c].sort());
    const stray = listed.find((e) => e.digest === null)!;
    assert.equal(stray.path, `${prefix}blobs/sha256/zz/not-a-digest`);
    assert.equal((await m.stat(a!))?.size, 5);

    assert.deepEqual(await m.moveToTrash('batch1', [a!, b!], Date.now() - 60_000), [], 'recently written blobs are never swept');
    const moved = await m.moveToTrash('batch1', [a!, b!, sha256Of('missing')], Date.now() + 60_000);
    assert.deepEqual(moved, [{ digest: a, size: 5 }, { digest: b, size: 4 }]);
    assert.equal(await store.stat(a!), null);
    assert.deepEqual(await m.trashBatches(), ['batch1']);
    assert.deepEqual((await m.trashContents('batch1')).sort((x, y) => (x.digest < y.digest ? -1 : 1)), [{ digest: a, size: 5 }, { digest: b, size: 4 }].sort((x, y) => (x.digest! < y.digest! ? -1 : 1)));
    await m.restoreFromTrash('batch1', a!);
    assert.equal((await store.readAll(a!, 10)).toString(), 'alpha');
    assert.equal(await m.purgeBatch('batch1'), 4);
    assert.deepEqual(await m.trashBatches(), []);
    assert.equal(await store.stat(b!), null);

    assert.equal(await m.verify(c!), 'ok');
    assert.equal(await m.verify(b!), 'missing');
    await putObject(bucket, `${prefix}blobs/sha256/${c!.slice(7, 9)}/${c!.slice(7)}`, Buffer.from('tampered'));
    assert.equal(await m.verify(c!), 'corrupt');
    assert.equal(await m.quarantine(c!), true);
    assert.equal(await m.quarantine({ path: stray.path }), true);
    assert.equal(await m.quarantine(c!), false);
    const left = (await listObjects(bucket, prefix)).map((o) => o.key.slice(prefix.length));
    assert.equal(left.filter((k) => k.startsWith('quarantine/')).length, 2);
    assert.deepEqual(left.filter((k) => k.startsWith('blobs/')), [`blobs/sha256/${a!.slice(7, 9)}/${a!.slice(7)}`]);
  } finally {
    for (const o of await listObjects(bucket, prefix)) await deleteObject(bucket, o.key);
  }
});
