import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startTestS3 } from '../../test/support/s3.ts';
import { randomId } from '../core/ids.ts';
import { createS3Client } from './s3-client.ts';
import { createS3LogStore } from './s3-logs.ts';
import { deleteObject, listObjects } from './s3-objects.ts';
import { runLogStoreSuite } from './suite-logs.ts';

const s3 = await startTestS3();
const client = createS3Client(s3.settings);
const bucket = { client, bucket: s3.settings.bucket, where: s3.source };
after(async () => {
  client.destroy();
  await s3.stop();
});

const harness = (segmentBytes?: number) => {
  const prefix = `t-${randomId(6)}/`;
  return {
    prefix,
    open: (o: { maxBytes?: number } = {}) => createS3LogStore({ client, settings: s3.settings, prefix, segmentBytes, ...o }),
    async cleanup() {
      for (const o of await listObjects(bucket, prefix)) await deleteObject(bucket, o.key);
    },
  };
};

runLogStoreSuite(`s3 (${s3.source})`, async () => harness());
// Small segments: every read and restart crosses segment boundaries.
runLogStoreSuite(`s3 with 4 KiB segments (${s3.source})`, async () => harness(4096));

test('s3 logs: segments are named by their first line and the bytes before them, and closed once full', async () => {
  const h = harness(4096);
  try {
    const s = h.open();
    for (let i = 0; i < 10; i++) await s.append('b1', [{ text: 'x'.repeat(1000) }]);
    const keys = (await listObjects(bucket, h.prefix)).map((o) => o.key.slice(h.prefix.length));
    assert.deepEqual(keys, ['logs/b1/0000000001-0000000000.jsonl', 'logs/b1/0000000005-0000004000.jsonl', 'logs/b1/0000000009-0000008000.jsonl']);
    // A store without the cache (another node) continues from the last segment.
    assert.equal((await h.open().append('b1', [{ text: 'next' }]))[0]!.n, 11);
  } finally {
    await h.cleanup();
  }
});
