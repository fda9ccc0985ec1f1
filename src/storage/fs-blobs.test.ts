import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isAppError } from '../core/errors.ts';
import { sha256Of } from '../core/digest.ts';
import { createFsBlobStore } from './fs-blobs.ts';
import { runBlobStoreSuite } from './suite.ts';

runBlobStoreSuite('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bg-blobs-'));
  return {
    store: createFsBlobStore({ root }),
    reopen: () => createFsBlobStore({ root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

async function withRoot(fn: (root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'bg-blobs-'));
  try {
    await fn(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('fs store: blobs land at blobs/<alg>/<2 hex>/<hex> and uploads leave nothing behind', () =>
  withRoot(async (root) => {
    const store = createFsBlobStore({ root });
    const d = await store.put(Buffer.from('layout'));
    const hex = d.slice('sha256:'.length);
    assert.equal(await readFile(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex), 'utf8'), 'layout');
    const id = await store.startUpload();
    const state = JSON.parse(await readFile(join(root, 'uploads', id, 'state.json'), 'utf8')) as { startedAt: number };
    assert.equal(typeof state.startedAt, 'number');
    await store.append(id, Readable.from([Buffer.from('oops')]));
    await assert.rejects(store.commit(id, sha256Of('other')));
    assert.deepEqual(await readdir(join(root, 'uploads')), []);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  }));

test('fs store: sessions idle past the TTL are unknown and removed', () =>
  withRoot(async (root) => {
    let now = Date.now();
    const store = createFsBlobStore({ root, uploadTtlMs: 60_000, now: () => now });
    const id = await store.startUpload();
    await store.append(id, Readable.from([Buffer.from('slow')]));
    now += 30_000;
    assert.equal(await store.uploadSize(id), 4);
    now += 10 * 60_000;
    await assert.rejects(store.uploadSize(id), (e) => isAppError(e, 'BLOB_UPLOAD_UNKNOWN'));
    await assert.rejects(stat(join(root, 'uploads', id)), { code: 'ENOENT' });
  }));

test('fs store: sweepUploads removes abandoned sessions and staging files, keeps live ones', () =>
  withRoot(async (root) => {
    const store = createFsBlobStore({ root });
    const old = await store.startUpload();
    const fresh = await store.startUpload();
    const past = new Date(Date.now() - 3 * 60 * 60 * 1000);
    await writeFile(join(root, 'uploads', old, 'state.json'), JSON.stringify({ startedAt: past.getTime() }));
    await utimes(join(root, 'uploads', old, 'data'), past, past);
    // A second instance has no in-memory state: sweeping must work from disk alone.
    const other = createFsBlobStore({ root });
    await store.put(Buffer.from('creates tmp/'));
    await writeFile(join(root, 'tmp', 'leftover'), 'crashed put');
    await utimes(join(root, 'tmp', 'leftover'), past, past);
    assert.equal(await other.sweepUploads(60 * 60 * 1000), 1);
    assert.deepEqual(await readdir(join(root, 'uploads')), [fresh]);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
    await assert.rejects(store.uploadSize(old), (e) => isAppError(e, 'BLOB_UPLOAD_UNKNOWN'));
    assert.equal(await store.uploadSize(fresh), 0);
  }));
