import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { startTestS3 } from '../../test/support/s3.ts';
import { isAppError } from '../core/errors.ts';
import { sha256Of } from '../core/digest.ts';
import { randomId } from '../core/ids.ts';
import { createS3BlobStore, type S3BlobStoreOptions } from './s3-blobs.ts';
import { createS3Client, type S3Settings } from './s3-client.ts';
import { deleteObject, listObjects } from './s3-objects.ts';
import { MIN_PART_BYTES } from './s3-uploads.ts';
import { runBlobStoreSuite } from './suite.ts';

const s3 = await startTestS3();
const client = createS3Client(s3.settings);
const bucket = { client, bucket: s3.settings.bucket, where: s3.source };
after(async () => {
  client.destroy();
  await s3.stop();
});

/** A store under a fresh prefix of the test bucket; cleanup() deletes everything under the prefix. */
function harness(extra: Partial<S3BlobStoreOptions> = {}) {
  const prefix = `t-${randomId(6)}/`;
  const make = (c: S3Client = client) => createS3BlobStore({ client: c, settings: s3.settings, prefix, ...extra });
  return {
    prefix,
    store: make(),
    reopen: () => make(),
    objects: async (under = '') => (await listObjects(bucket, prefix + under)).map((o) => o.key.slice(prefix.length)),
    async cleanup() {
      for (const o of await listObjects(bucket, prefix)) await deleteObject(bucket, o.key);
    },
  };
}

runBlobStoreSuite(`s3 (${s3.source})`, async () => harness());

/** Records the S3 operations (command names and UploadPart sizes) a client sends. */
function recordOps(c: S3Client) {
  const ops: { name: string; bytes?: number }[] = [];
  c.middlewareStack.add((next, context) => async (args) => {
    const input = args.input as { Body?: unknown };
    ops.push({ name: String(context.commandName), bytes: Buffer.isBuffer(input.Body) ? input.Body.length : undefined });
    return next(args);
  }, { step: 'initialize', name: 'bgRecordOps' });
  return ops;
}

describe('s3 blob store', () => {
  test('small appends are buffered into parts of at least 5 MiB; only the last part is smaller', async () => {
    const c = createS3Client(s3.settings);
    const ops = recordOps(c);
    const h = harness();
    const store = createS3BlobStore({ client: c, settings: s3.settings, prefix: h.prefix, partBytes: MIN_PART_BYTES });
    try {
      const data = randomBytes(13 * 1024 * 1024 + 123);
      const id = await store.startUpload();
      // Chunks of odd sizes, several below the part size, one spanning two parts.
      const cuts = [0, 1, 1000, 3 * 1024 * 1024, 4 * 1024 * 1024, 12 * 1024 * 1024, data.length];
      for (let i = 1; i < cuts.length; i++) {
        assert.equal(await store.append(id, Readable.from([data.subarray(cuts[i - 1], cuts[i])]), { offset: cuts[i - 1] }), cuts[i]);
      }
      assert.deepEqual(await store.commit(id, sha256Of(data)), { digest: sha256Of(data), size: data.length });
      const parts = ops.filter((o) => o.name === 'UploadPartCommand').map((o) => o.bytes!);
      assert.deepEqual(parts, [MIN_PART_BYTES, MIN_PART_BYTES, data.length - 2 * MIN_PART_BYTES]);
      assert.equal(ops.filter((o) => o.name === 'CompleteMultipartUploadCommand').length, 1);
      assert.ok((await store.readAll(sha256Of(data), data.length)).equals(data));
      assert.deepEqual(await h.objects(), [`blobs/sha256/${sha256Of(data).slice(7, 9)}/${sha256Of(data).slice(7)}`], 'no session objects left');
    } finally {
      c.destroy();
      await h.cleanup();
    }
  });

  test('a session moves between nodes mid-upload; the commit then verifies by reading back', async () => {
    const h = harness({ partBytes: MIN_PART_BYTES });
    try {
      const data = randomBytes(6 * 1024 * 1024);
      const id = await h.store.startUpload();
      await h.store.append(id, Readable.from([data.subarray(0, 4 * 1024 * 1024)]));
      const other = h.reopen(); // another node: no running hash
      await other.append(id, Readable.from([data.subarray(4 * 1024 * 1024)]), { offset: 4 * 1024 * 1024 });
      await assert.rejects(h.store.commit(id, sha256Of('not it')), (e) => isAppError(e, 'DIGEST_INVALID'));
      assert.deepEqual(await h.objects(), [], 'a failed commit leaves nothing: no blob, no staging, no session');

      const again = await other.startUpload();
      await other.append(again, Readable.from([data.subarray(0, 1)]));
      await h.store.append(again, Readable.from([data.subarray(1)]), { offset: 1 });
      assert.equal((await other.commit(again, sha256Of(data))).size, data.length);
      assert.ok((await h.store.readAll(sha256Of(data), data.length)).equals(data));
    } finally {
      await h.cleanup();
    }
  });

  test('blob files read sequentially in one streamed GET after the first, and serve any range', async () => {
    const c = createS3Client(s3.settings);
    const ops = recordOps(c);
    const h = harness();
    try {
      const data = randomBytes(3 * 1024 * 1024 + 5);
      const d = await h.store.put(data);
      const store = createS3BlobStore({ client: c, settings: s3.settings, prefix: h.prefix });
      const file = await store.open(d);
      const out = Buffer.alloc(data.length);
      const chunk = 1024 * 1024;
      for (let pos = 0; pos < data.length;) pos += await file.read(out, pos, Math.min(chunk, data.length - pos), pos);
      assert.ok(out.equals(data));
      assert.equal(ops.filter((o) => o.name === 'GetObjectCommand').length, 2, 'a bounded first GET, then one for the rest');
      const buf = Buffer.alloc(10);
      assert.equal(await file.read(buf, 0, 10, 12345), 10);
      assert.ok(buf.equals(data.subarray(12345, 12355)));
      assert.equal(await file.read(buf, 0, 10, data.length - 3), 3);
      assert.ok(buf.subarray(0, 3).equals(data.subarray(-3)));
      assert.equal(await file.read(buf, 0, 10, data.length), 0);
      await file.close();
      await file.close();
    } finally {
      c.destroy();
      await h.cleanup();
    }
  });

  test('presigned URLs serve the blob (and ranges of it) straight from the bucket', async () => {
    const h = harness({ presignSeconds: 60 });
    try {
      const data = Buffer.from('served by the bucket itself');
      const d = await h.store.put(data);
      const url = await h.store.presignedUrl!(d);
      assert.match(url, /X-Amz-Expires=60/);
      assert.match(url, new RegExp(`X-Amz-Credential=${s3.settings.accessKeyId}%2F`));
      const whole = await fetch(url);
      assert.equal(whole.status, 200);
      assert.equal(Buffer.from(await whole.arrayBuffer()).toString(), data.toString());
      const part = await fetch(url, { headers: { Range: 'bytes=7-8' } });
      assert.equal(part.status, 206);
      assert.equal(await part.text(), 'by');
      assert.equal(harness().store.presignedUrl, undefined, 'only offered when configured');
    } finally {
      await h.cleanup();
    }
  });

  test('sweepUploads removes idle sessions with their parts and keeps live ones', async () => {
    let now = Date.now();
    const h = harness({ now: () => now, partBytes: MIN_PART_BYTES });
    try {
      const old = await h.store.startUpload();
      await h.store.append(old, Readable.from([randomBytes(MIN_PART_BYTES + 10)]));
      now += 2 * 3600_000;
      const fresh = await h.store.startUpload();
      assert.equal(await h.reopen().sweepUploads(3600_000), 1);
      assert.deepEqual(await h.objects('uploads/'), [`uploads/${fresh}/state.json`]);
      await assert.rejects(h.store.uploadSize(old), (e) => isAppError(e, 'BLOB_UPLOAD_UNKNOWN'));
      assert.equal(await h.store.uploadSize(fresh), 0);
    } finally {
      await h.cleanup();
    }
  });
});

describe('s3 client configuration', () => {
  test('requests are signed (SigV4) with the configured access key and secret', async () => {
    const settings = { ...s3.settings, accessKeyId: 'S3RVER', secretAccessKey: 'the-configured-secret' };
    const c = createS3Client(settings);
    let seen: { method: string; path: string; query: Record<string, string | string[] | null>; headers: Record<string, string> } | undefined;
    c.middlewareStack.add((next) => async (args) => {
      seen = args.request as typeof seen;
      return next(args);
    }, { step: 'deserialize', name: 'bgCaptureSigned' });
    try {
      await createS3BlobStore({ client: c, settings }).check();
      assert.ok(seen);
      const auth = seen.headers.authorization ?? '';
      assert.match(auth, new RegExp(`^AWS4-HMAC-SHA256 Credential=S3RVER/\\d{8}/${settings.region}/s3/aws4_request, `));
      assert.equal(sigV4(seen, settings.secretAccessKey, settings.region), /Signature=([0-9a-f]{64})/.exec(auth)?.[1], 'signed with the configured secret');
      assert.notEqual(sigV4(seen, 'another-secret', settings.region), /Signature=([0-9a-f]{64})/.exec(auth)?.[1]);
    } finally {
      c.destroy();
    }
  });

  test('only one of the two keys is refused; a wrong endpoint, bucket or key id fails the start-up check clearly', async () => {
    assert.throws(() => createS3Client({ bucket: 'b', accessKeyId: 'only-this' }), /s3AccessKeyId and s3SecretAccessKey must be set together/);
    const check = async (settings: S3Settings, message: RegExp) => {
      const c = createS3Client(settings);
      try {
        await assert.rejects(createS3BlobStore({ client: c, settings }).check(), (e: Error) => {
          assert.ok(isAppError(e, 'INVALID'), String(e));
          assert.match(e.message, message);
          return true;
        });
      } finally {
        c.destroy();
      }
    };
    await check({ ...s3.settings, endpoint: 'http://127.0.0.1:1' },
      /^cannot use the S3 bucket at http:\/\/127\.0\.0\.1:1\/buildgrid-test: .*ECONNREFUSED.*check s3Endpoint/);
    await check({ ...s3.settings, bucket: 'no-such-bucket' }, /no-such-bucket.*the bucket does not exist/);
    if (s3.source === 'in-process s3rver') {
      await check({ ...s3.settings, accessKeyId: 'WRONG', secretAccessKey: 'x' }, /access denied: check s3AccessKeyId/);
    }
  });
});

/** Recomputes the SigV4 signature of a captured request with `secret` (header-signed, as the SDK sends them). */
function sigV4(req: { method: string; path: string; query: Record<string, string | string[] | null>; headers: Record<string, string> }, secret: string, region: string): string {
  const auth = req.headers.authorization!;
  const signed = /SignedHeaders=([^,]+)/.exec(auth)![1]!;
  const amzDate = req.headers['x-amz-date']!;
  const day = amzDate.slice(0, 8);
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  const query = Object.entries(req.query).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${enc(k)}=${enc(String(v ?? ''))}`).join('&');
  const headers = signed.split(';').map((h) => `${h}:${String(req.headers[h] ?? '').trim()}\n`).join('');
  const canonical = [req.method, req.path, query, headers, signed, req.headers['x-amz-content-sha256']].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), 's3'), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}
