import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { isAppError, type ErrorCode } from '../core/errors.ts';
import { sha256Of, type Digest } from '../core/digest.ts';
import type { BlobWriter } from './types.ts';

/** One store under test, over storage of its own. */
export interface BlobStoreHarness {
  store: BlobWriter;
  /** A second store instance over the same storage: simulates a process restart (no in-memory state). */
  reopen(): BlobWriter;
  /** Removes everything the harness created. */
  cleanup(): Promise<void>;
}

/**
 * The behaviour every BlobWriter driver must have (filesystem today, S3 later). `make` is called once per test and
 * must return a harness over empty storage.
 */
export function runBlobStoreSuite(name: string, make: () => Promise<BlobStoreHarness>): void {
  const it = (title: string, fn: (h: BlobStoreHarness) => Promise<void>) =>
    test(title, async () => {
      const h = await make();
      try {
        await fn(h);
      } finally {
        await h.cleanup();
      }
    });

  describe(`BlobWriter contract: ${name}`, () => {
    it('put, stat, open, readAll and delete round-trip', async ({ store }) => {
      const data = Buffer.from('hello, blob');
      const d = await store.put(data);
      assert.equal(d, sha256Of(data));
      assert.equal(await store.stat(d), data.length);
      assert.deepEqual(await store.readAll(d, 1024), data);
      const file = await store.open(d);
      try {
        assert.equal(file.size, data.length);
        const buf = Buffer.alloc(4);
        assert.equal(await file.read(buf, 0, 4, 7), 4);
        assert.equal(buf.toString(), 'blob');
        assert.equal(await file.read(buf, 0, 4, data.length), 0);
      } finally {
        await file.close();
      }
      await rejectsWith(store.readAll(d, 3), 'SIZE_INVALID');
      await store.delete(d);
      await store.delete(d);
      assert.equal(await store.stat(d), null);
      await rejectsWith(store.open(d), 'BLOB_UNKNOWN');
      await rejectsWith(store.readAll(d, 1024), 'BLOB_UNKNOWN');
    });

    it('put with a wrong expected digest stores nothing', async ({ store }) => {
      const wrong = sha256Of('something else');
      await rejectsWith(store.put(Buffer.from('data'), wrong), 'DIGEST_INVALID');
      assert.equal(await store.stat(wrong), null);
      assert.equal(await store.stat(sha256Of('data')), null);
    });

    it('upload then commit round-trips, including an empty blob', async ({ store }) => {
      for (const data of [Buffer.from('monolithic upload'), Buffer.alloc(0)]) {
        const id = await store.startUpload();
        assert.equal(await store.uploadSize(id), 0);
        assert.equal(await store.append(id, Readable.from([data])), data.length);
        assert.deepEqual(await store.commit(id, sha256Of(data)), { digest: sha256Of(data), size: data.length });
        assert.deepEqual(await store.readAll(sha256Of(data), 1024), data);
        await rejectsWith(store.uploadSize(id), 'BLOB_UPLOAD_UNKNOWN');
      }
    });

    it('a digest mismatch on commit leaves nothing visible and discards the session', async ({ store }) => {
      const id = await store.startUpload();
      await store.append(id, Readable.from([Buffer.from('actual')]));
      const claimed = sha256Of('claimed');
      await rejectsWith(store.commit(id, claimed), 'DIGEST_INVALID');
      assert.equal(await store.stat(claimed), null);
      assert.equal(await store.stat(sha256Of('actual')), null);
      await rejectsWith(store.uploadSize(id), 'BLOB_UPLOAD_UNKNOWN');
    });

    it('chunked appends honour offsets', async ({ store }) => {
      const id = await store.startUpload();
      const parts = ['first,', 'second,', 'third'].map((s) => Buffer.from(s));
      let offset = 0;
      for (const part of parts) {
        offset = await store.append(id, Readable.from([part]), { offset });
      }
      assert.equal(await store.uploadSize(id), offset);
      const all = Buffer.concat(parts);
      await store.commit(id, sha256Of(all));
      assert.deepEqual(await store.readAll(sha256Of(all), 1024), all);
    });

    it('a wrong offset is RANGE_INVALID and leaves the content unchanged', async ({ store }) => {
      const id = await store.startUpload();
      await store.append(id, Readable.from([Buffer.from('abc')]));
      await rejectsWith(store.append(id, Readable.from([Buffer.from('zzz')]), { offset: 1 }), 'RANGE_INVALID');
      await rejectsWith(store.append(id, Readable.from([Buffer.from('zzz')]), { offset: 0 }), 'RANGE_INVALID');
      assert.equal(await store.uploadSize(id), 3);
      await store.commit(id, sha256Of('abc'));
    });

    it('a stream that fails mid-append leaves the previous content and hash', async ({ store }) => {
      const id = await store.startUpload();
      await store.append(id, Readable.from([Buffer.from('kept-')]));
      await assert.rejects(store.append(id, failingStream(Buffer.from('half-written'))), /client went away/);
      assert.equal(await store.uploadSize(id), 5);
      await store.append(id, Readable.from([Buffer.from('rest')]), { offset: 5 });
      await store.commit(id, sha256Of('kept-rest'));
      assert.equal((await store.readAll(sha256Of('kept-rest'), 100)).toString(), 'kept-rest');
    });

    it('an aborted signal stops the append and keeps the previous content', async ({ store }) => {
      const id = await store.startUpload();
      await store.append(id, Readable.from([Buffer.from('kept')]));
      const ac = new AbortController();
      const pending = store.append(id, stallingStream(Buffer.from('never committed')), { signal: ac.signal });
      setTimeout(() => ac.abort(), 20);
      await assert.rejects(pending, { name: 'AbortError' });
      assert.equal(await store.uploadSize(id), 4);
      await store.commit(id, sha256Of('kept'));
    });

    it('the size cap is SIZE_INVALID and discards only the offending chunk', async ({ store }) => {
      const id = await store.startUpload();
      await store.append(id, Readable.from([Buffer.from('12345')]), { maxBytes: 10 });
      const big = Readable.from([Buffer.from('678'), Buffer.from('9ABCDEF')]);
      await rejectsWith(store.append(id, big, { maxBytes: 10 }), 'SIZE_INVALID');
      assert.equal(await store.uploadSize(id), 5);
      assert.equal(await store.append(id, Readable.from([Buffer.from('67890')]), { maxBytes: 10 }), 10);
      await store.commit(id, sha256Of('1234567890'));
    });

    it('unknown and path-like upload ids are BLOB_UPLOAD_UNKNOWN', async ({ store }) => {
      const ids = ['nosuchupload0000', '../../etc/passwd', '..', '.', 'a/b', '', 'x'.repeat(500), '%2e%2e%2fx', 'abc\0defgh', 'uploads\\..\\x'];
      for (const id of ids) {
        await rejectsWith(store.uploadSize(id), 'BLOB_UPLOAD_UNKNOWN');
        await rejectsWith(store.append(id, Readable.from([Buffer.from('x')])), 'BLOB_UPLOAD_UNKNOWN');
        await rejectsWith(store.commit(id, sha256Of('x')), 'BLOB_UPLOAD_UNKNOWN');
        await store.cancel(id);
      }
    });

    it('cancel discards a session', async ({ store }) => {
      const id = await store.startUpload();
      await store.append(id, Readable.from([Buffer.from('bye')]));
      await store.cancel(id);
      await store.cancel(id);
      await rejectsWith(store.uploadSize(id), 'BLOB_UPLOAD_UNKNOWN');
      assert.equal(await store.stat(sha256Of('bye')), null);
    });

    it('commit is idempotent for content that is already stored, but a used session is gone', async ({ store }) => {
      const data = Buffer.from('same content');
      const d = sha256Of(data);
      await store.put(data);
      const id = await store.startUpload();
      await store.append(id, Readable.from([data]));
      assert.deepEqual(await store.commit(id, d), { digest: d, size: data.length });
      await rejectsWith(store.commit(id, d), 'BLOB_UPLOAD_UNKNOWN');
      assert.equal(await store.put(data, d), d);
      assert.deepEqual(await store.readAll(d, 100), data);
    });

    it('concurrent commits and puts of the same digest all succeed', async ({ store }) => {
      const data = Buffer.alloc(256 * 1024, 'q');
      const d = sha256Of(data);
      const ids = await Promise.all(Array.from({ length: 8 }, () => store.startUpload()));
      await Promise.all(ids.map((id) => store.append(id, Readable.from([data]))));
      const results = await Promise.all([...ids.map((id) => store.commit(id, d)), store.put(data, d), store.put(data)]);
      for (const r of results) assert.equal(typeof r === 'string' ? r : r.digest, d);
      assert.deepEqual(await store.readAll(d, data.length), data);
    });

    it('concurrent appends to one session are serialized', async ({ store }) => {
      const id = await store.startUpload();
      const a = store.append(id, Readable.from([Buffer.from('aaa')]), { offset: 0 });
      const b = store.append(id, Readable.from([Buffer.from('bbb')]), { offset: 0 });
      const [ra, rb] = await Promise.allSettled([a, b]);
      assert.equal(ra.status, 'fulfilled');
      assert.equal(rb.status, 'rejected');
      assert.ok(isAppError(rb.status === 'rejected' ? rb.reason : null, 'RANGE_INVALID'));
      await store.commit(id, sha256Of('aaa'));
    });

    it('a new store instance can continue and commit an upload (restart)', async ({ store, reopen }) => {
      const id = await store.startUpload();
      await store.append(id, Readable.from([Buffer.from('before restart|')]));
      const second = reopen();
      assert.equal(await second.uploadSize(id), 15);
      await second.append(id, Readable.from([Buffer.from('after')]), { offset: 15 });
      const other = await store.startUpload();
      await store.append(other, Readable.from([Buffer.from('wrong')]));
      await rejectsWith(reopen().commit(other, sha256Of('right')), 'DIGEST_INVALID');
      const d = sha256Of('before restart|after');
      assert.deepEqual(await reopen().commit(id, d), { digest: d, size: 20 });
      assert.equal((await store.readAll(d, 100)).toString(), 'before restart|after');
    });

    it('supports sha512 digests', async ({ store }) => {
      const data = Buffer.from('five-twelve');
      const d = `sha512:${createHash('sha512').update(data).digest('hex')}` as Digest;
      const id = await store.startUpload();
      await store.append(id, Readable.from([data.subarray(0, 4)]));
      await store.append(id, Readable.from([data.subarray(4)]));
      assert.deepEqual(await store.commit(id, d), { digest: d, size: data.length });
      assert.deepEqual(await store.readAll(d, 100), data);
      assert.equal(await store.put(data, d), d);
      assert.equal(await store.stat(sha256Of(data)), null);
    });

    it('rejects malformed digests with DIGEST_INVALID', async ({ store }) => {
      const bad = 'sha256:../../../etc/passwd' as Digest;
      await rejectsWith(store.stat(bad), 'DIGEST_INVALID');
      await rejectsWith(store.open(bad), 'DIGEST_INVALID');
      await rejectsWith(store.delete(bad), 'DIGEST_INVALID');
      const id = await store.startUpload();
      await rejectsWith(store.commit(id, bad), 'DIGEST_INVALID');
    });
  });
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.ok(isAppError(err, code), `expected AppError ${code}, got ${String(err)}`);
    return true;
  });
}

/** Emits `first`, then fails like a client that disconnects mid-upload. */
function failingStream(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) {
        setImmediate(() => this.destroy(new Error('client went away')));
        return;
      }
      sent = true;
      this.push(first);
    },
  });
}

/** Emits `first`, then waits forever. */
function stallingStream(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      }
    },
  });
}
