import { mkdir, open, rm, stat } from 'node:fs/promises';
import { AppError } from '../core/errors.ts';
import { digestOfLike, sha256Of, type Digest } from '../core/digest.ts';
import { randomId } from '../core/ids.ts';
import type { BlobFile, BlobWriter } from './types.ts';
import { storePaths } from './paths.ts';
import { createFsUploads } from './fs-uploads.ts';
import { blobFileOf, isNotFound, renameIntoPlace, writeFileSynced } from './fs-util.ts';

/** Options for {@link createFsBlobStore}. */
export interface FsBlobStoreOptions {
  /** Directory holding the store (see paths.ts for the layout); created on first write. */
  root: string;
  /** Upload sessions idle for longer than this are BLOB_UPLOAD_UNKNOWN and removed. Default 24 hours. */
  uploadTtlMs?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

/** A filesystem BlobWriter, plus the maintenance its upload area needs. */
export interface FsBlobStore extends BlobWriter {
  /** The absolute root directory. */
  readonly root: string;
  /** Removes upload sessions and staging files idle for longer than `olderThanMs` (default: the upload TTL). */
  sweepUploads(olderThanMs?: number): Promise<number>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A content-addressed blob store on the local filesystem. Blobs are only ever made visible by renaming a fully
 * written, fsynced, digest-verified file into blobs/; a reader never sees partial content. Throws AppError codes as
 * documented on BlobReader/BlobWriter; a malformed digest is DIGEST_INVALID.
 */
export function createFsBlobStore(opts: FsBlobStoreOptions): FsBlobStore {
  const paths = storePaths(opts.root);
  const ttlMs = opts.uploadTtlMs ?? DAY_MS;
  const uploads = createFsUploads({ paths, ttlMs, now: opts.now ?? Date.now });

  async function openBlob(digest: Digest): Promise<BlobFile> {
    const path = paths.blob(digest);
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if (isNotFound(err)) throw new AppError('BLOB_UNKNOWN', `blob unknown: ${digest}`);
      throw err;
    }
    try {
      return blobFileOf(fh, (await fh.stat()).size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async function statBlob(digest: Digest): Promise<number | null> {
    try {
      return (await stat(paths.blob(digest))).size;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  return {
    root: paths.root,
    stat: statBlob,
    open: openBlob,

    async readAll(digest, maxBytes) {
      const file = await openBlob(digest);
      try {
        if (file.size > maxBytes) {
          throw new AppError('SIZE_INVALID', `blob ${digest} is ${file.size} bytes, more than the ${maxBytes} allowed`);
        }
        const buf = Buffer.allocUnsafe(file.size);
        let pos = 0;
        while (pos < buf.length) {
          const n = await file.read(buf, pos, buf.length - pos, pos);
          if (n === 0) throw new AppError('INTERNAL', `blob ${digest} is shorter than its recorded size`);
          pos += n;
        }
        return buf;
      } finally {
        await file.close();
      }
    },

    async put(data, expected) {
      const digest = expected ? digestOfLike(expected, data) : sha256Of(data);
      if (expected && digest !== expected) {
        throw new AppError('DIGEST_INVALID', `content has digest ${digest}, not ${expected}`);
      }
      const target = paths.blob(digest);
      if ((await statBlob(digest)) === data.length) return digest;
      await mkdir(paths.tmpDir, { recursive: true });
      const tmp = paths.tmp(randomId(16));
      try {
        await writeFileSynced(tmp, data);
        await renameIntoPlace(tmp, target);
      } finally {
        await rm(tmp, { force: true });
      }
      return digest;
    },

    startUpload: uploads.startUpload,
    uploadSize: uploads.uploadSize,
    append: uploads.append,
    commit: uploads.commit,
    cancel: uploads.cancel,

    async delete(digest) {
      await rm(paths.blob(digest), { force: true });
    },

    sweepUploads(olderThanMs = ttlMs) {
      return uploads.sweepUploads(olderThanMs);
    },
  };
}
