import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../core/errors.ts';
import { digestParts, type Digest } from '../core/digest.ts';
import { randomId } from '../core/ids.ts';
import { DigestVerifier } from '../oci/verify.ts';
import type { AppendOptions, BlobWriter } from './types.ts';
import { isUploadId, type StorePaths, type UploadPaths } from './paths.ts';
import { fsyncFile, hashFile, isNotFound, renameIntoPlace } from './fs-util.ts';

/**
 * Upload sessions on the local filesystem.
 *
 * Hashing: each session keeps a running sha256 in memory, so a monolithic or chunked upload is hashed exactly once,
 * as it arrives. An append works on `hash.copy()` and swaps it in only when the whole chunk has been written, so a
 * failed append leaves both the file (truncated back) and the hash as they were. The in-memory hash is trusted only
 * while the file size matches the size it covers; after a restart, or if the file changed behind our back, commit
 * re-hashes the file instead (as it always does for sha512 digests — we do not know the algorithm until commit).
 *
 * Concurrency: operations on one session are serialized by an in-process lock. Sessions are owned by one process:
 * two processes appending to the same session id concurrently is not supported (commits of the same digest from
 * different processes are, see renameIntoPlace).
 *
 * Expiry: a session whose last activity (max of startedAt and the data file's mtime) is older than the TTL is
 * reported as BLOB_UPLOAD_UNKNOWN and removed. Measuring from last activity rather than startedAt keeps a slow,
 * chunked multi-gigabyte upload alive as long as chunks keep arriving.
 */

type UploadOps = Pick<BlobWriter, 'startUpload' | 'uploadSize' | 'append' | 'commit' | 'cancel'>;

/** Upload-session operations plus sweeping of abandoned sessions. */
export interface FsUploads extends UploadOps {
  /**
   * Removes sessions (and put() staging files) idle for longer than `olderThanMs`; sessions busy in this process are
   * skipped. Resolves to the number of sessions removed.
   */
  sweepUploads(olderThanMs: number): Promise<number>;
}

interface Session {
  startedAt: number;
  /** Size of the data file as last seen by this process. */
  size: number;
  /** sha256 of exactly the first `size` bytes, or null when unknown (re-hash at commit). */
  hash: Hash | null;
}

/** Upload sessions under `paths.uploadsDir`; throws the AppError codes documented on BlobWriter. */
export function createFsUploads(opts: { paths: StorePaths; ttlMs: number; now: () => number }): FsUploads {
  const { paths, ttlMs, now } = opts;
  const sessions = new Map<string, Session>();
  const locks = new Map<string, Promise<void>>();

  async function withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const mine = prev.then(() => gate);
    locks.set(id, mine);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(id) === mine) locks.delete(id);
    }
  }

  function unknown(why: string): AppError {
    return new AppError('BLOB_UPLOAD_UNKNOWN', `blob upload unknown: ${why}; start a new upload`);
  }

  async function discard(id: string, p: UploadPaths): Promise<void> {
    sessions.delete(id);
    await rm(p.dir, { recursive: true, force: true });
  }

  async function readStartedAt(p: UploadPaths, fallback: number): Promise<number> {
    try {
      const v = (JSON.parse(await readFile(p.state, 'utf8')) as { startedAt?: unknown }).startedAt;
      return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
    } catch {
      return fallback;
    }
  }

  /** Loads (or refreshes) a session from disk. Throws BLOB_UPLOAD_UNKNOWN for malformed, missing or expired ids. */
  async function load(id: string): Promise<{ p: UploadPaths; s: Session }> {
    const p = paths.upload(id);
    let st;
    try {
      st = await stat(p.data);
    } catch (err) {
      if (isNotFound(err)) throw unknown('no such upload');
      throw err;
    }
    let s = sessions.get(id);
    if (!s) {
      s = { startedAt: await readStartedAt(p, st.mtimeMs), size: st.size, hash: st.size === 0 ? createHash('sha256') : null };
      sessions.set(id, s);
    } else if (s.size !== st.size) {
      s.size = st.size;
      s.hash = null;
    }
    if (now() - Math.max(s.startedAt, st.mtimeMs) > ttlMs) {
      await discard(id, p);
      throw unknown('upload expired');
    }
    return { p, s };
  }

  return {
    async startUpload() {
      const id = randomId(16);
      const p = paths.upload(id);
      const startedAt = now();
      await mkdir(p.dir, { recursive: true });
      await writeFile(p.state, JSON.stringify({ startedAt }));
      await writeFile(p.data, '', { flag: 'wx' }); // last: a session exists once its data file does
      sessions.set(id, { startedAt, size: 0, hash: createHash('sha256') });
      return id;
    },

    uploadSize(id) {
      return withLock(id, async () => (await load(id)).s.size);
    },

    append(id: string, data: Readable, o: AppendOptions = {}) {
      return withLock(id, async () => {
        const { p, s } = await load(id);
        const start = s.size;
        if (o.offset !== undefined && o.offset !== start) {
          throw new AppError('RANGE_INVALID', `chunk starts at ${o.offset} but the upload has ${start} bytes`, { size: start });
        }
        o.signal?.throwIfAborted();
        const verifier = new DigestVerifier({ hash: s.hash?.copy() ?? null, offset: start, maxBytes: o.maxBytes });
        const fh = await open(p.data, 'r+');
        try {
          await pipeline(
            data,
            verifier,
            async (source: AsyncIterable<Buffer>) => {
              let pos = start;
              for await (const chunk of source) {
                await fh.write(chunk, 0, chunk.length, pos);
                pos += chunk.length;
              }
            },
            { signal: o.signal },
          );
        } catch (err) {
          await fh.close(); // waits for any in-flight write, so the truncate below is the last word
          await truncate(p.data, start).catch(() => (s.hash = null));
          throw err;
        }
        await fh.close();
        s.size = start + verifier.bytes;
        s.hash = verifier.hash;
        return s.size;
      });
    },

    async commit(id: string, digest: Digest) {
      const target = paths.blob(digest); // DIGEST_INVALID before touching the session
      return withLock(id, async () => {
        const { p, s } = await load(id);
        const { algorithm } = digestParts(digest);
        const actual =
          algorithm === 'sha256' && s.hash ? (`sha256:${s.hash.copy().digest('hex')}` as Digest) : await hashFile(p.data, algorithm);
        if (actual !== digest) {
          await discard(id, p);
          throw new AppError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${digest}; the upload was discarded`);
        }
        const size = s.size;
        // Idempotent: when the blob is already there, the identical content needs no second rename.
        if (!(await exists(target))) {
          await fsyncFile(p.data);
          await renameIntoPlace(p.data, target);
        }
        await discard(id, p);
        return { digest, size };
      });
    },

    async cancel(id) {
      if (!isUploadId(id)) return; // unknown by definition, and never a path
      const p = paths.upload(id);
      await withLock(id, () => discard(id, p));
    },

    async sweepUploads(olderThanMs) {
      const cutoff = now() - olderThanMs;
      let removed = 0;
      for (const id of await listDir(paths.uploadsDir)) {
        if (locks.has(id)) continue;
        if (!isUploadId(id)) continue; // not ours: leave unknown names alone
        const p = paths.upload(id);
        await withLock(id, async () => {
          const mtime = await stat(p.data).then((st) => st.mtimeMs, () => 0);
          const startedAt = sessions.get(id)?.startedAt ?? (await readStartedAt(p, 0));
          if (Math.max(mtime, startedAt) < cutoff) {
            await discard(id, p);
            removed++;
          }
        });
      }
      for (const name of await listDir(paths.tmpDir)) {
        const file = paths.tmp(name);
        const st = await stat(file).catch(() => null);
        if (st && st.mtimeMs < cutoff) await rm(file, { recursive: true, force: true });
      }
      return removed;
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}
