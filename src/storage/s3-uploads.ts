import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../core/errors.ts';
import { digestParts, type Digest } from '../core/digest.ts';
import { randomId } from '../core/ids.ts';
import { DigestVerifier } from '../oci/verify.ts';
import type { AppendOptions, BlobWriter } from './types.ts';
import { isUploadId } from './paths.ts';
import type { S3Keys, UploadKeys } from './s3-keys.ts';
import {
  abortMultipart, completeMultipart, copyObject, createMultipart, deleteObject, getBuffer, getStream, headSize,
  listDirs, listObjects, putObject, uploadPart, type Bucket,
} from './s3-objects.ts';

/**
 * Upload sessions on S3, shared by every node: all of a session's state is in the bucket (s3-keys.ts), so a PATCH
 * may land on one node and the PUT that commits it on another.
 *
 * Appends become multipart-upload parts. S3 wants every part but the last to be at least 5 MiB while a client may
 * PATCH a few bytes at a time, so an append joins the session's tail (the bytes after the last full part) with the
 * new bytes, uploads each full `partBytes` as a part, and writes what is left as a new tail object. Only then is
 * state.json rewritten; that PUT is the commit point, so a failed or aborted append leaves the session exactly as
 * it was (its stray parts are overwritten by the next append's part numbers or ignored at completion, and its tail
 * object is never referenced). Memory per append: at most one part plus one chunk.
 *
 * Digests: like the filesystem driver, a session keeps a running sha256 in memory while it streams in, valid only
 * for the state generation it covers. At commit, a valid hash is compared before anything is assembled. Otherwise
 * (the session was appended to on another node, or after a restart, or the digest is sha512) the multipart upload is
 * completed into the session's staging key and read back to hash it. Only a matching digest is then copied to the
 * blob key (server-side), so nothing half-written or unverified is ever visible at a blob key.
 *
 * Concurrency: operations on one session are serialized in this process; concurrent appends to one session from
 * two nodes are not supported (clients send a session's chunks in order and wait for each). Commits of the same
 * digest from anywhere race harmlessly: they copy identical bytes.
 */
type UploadOps = Pick<BlobWriter, 'startUpload' | 'uploadSize' | 'append' | 'commit' | 'cancel'>;

/** Upload-session operations plus sweeping of abandoned sessions. */
export interface S3Uploads extends UploadOps {
  /** Removes sessions idle for longer than `olderThanMs` (not those busy in this process); resolves to how many. */
  sweepUploads(olderThanMs: number): Promise<number>;
}

/** A session as stored in state.json. */
interface SessionState {
  startedAt: number;
  updatedAt: number;
  size: number;
  /** Increases with every append; names the tail object and keys the in-memory hash. */
  gen: number;
  /** UploadId of the multipart upload to the session's data key, created with the first full part. */
  multipart: string | null;
  parts: { n: number; etag: string; size: number }[];
  /** Bytes in tail-<gen> (0: no tail object). */
  tailSize: number;
}

/** S3's smallest part (all but the last); our parts are at least this. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

export function createS3Uploads(opts: { bucket: Bucket; keys: S3Keys; ttlMs: number; now: () => number; partBytes?: number }): S3Uploads {
  const { bucket: b, keys, ttlMs, now } = opts;
  const basePart = Math.max(opts.partBytes ?? DEFAULT_PART_BYTES, MIN_PART_BYTES);
  /** The running sha256 of a session's first `size` bytes, valid for state generation `gen`. */
  const hashes = new Map<string, { gen: number; hash: Hash }>();
  const locks = new Map<string, Promise<void>>();

  async function withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = prev.then(() => new Promise<void>((r) => (release = r)));
    locks.set(id, mine);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(id) === mine) locks.delete(id);
    }
  }

  const unknown = (why: string) => new AppError('BLOB_UPLOAD_UNKNOWN', `blob upload unknown: ${why}; start a new upload`);

  /** Part size for the next part: grows with the part count so a session stays under S3's 10,000 parts (~5 TB). */
  const partBytesFor = (partCount: number) => basePart * (1 + Math.floor(partCount / 1000));

  async function readState(k: UploadKeys): Promise<SessionState | null> {
    const raw = await getBuffer(b, k.state);
    if (!raw) return null;
    try {
      return JSON.parse(raw.toString('utf8')) as SessionState;
    } catch {
      return null; // not ours, or torn by hand: treat as unknown
    }
  }

  /** Removes every object of a session and its multipart upload. State first: the session is gone from then on. */
  async function discard(id: string, k: UploadKeys, state: SessionState | null): Promise<void> {
    hashes.delete(id);
    await deleteObject(b, k.state);
    if (state?.multipart) await abortMultipart(b, k.data, state.multipart);
    for (const o of await listObjects(b, k.dir)) await deleteObject(b, o.key);
  }

  /** Loads a session. Throws BLOB_UPLOAD_UNKNOWN for malformed, missing or expired ids (removing an expired one). */
  async function load(id: string): Promise<{ k: UploadKeys; s: SessionState }> {
    const k = keys.upload(id);
    const s = await readState(k);
    if (!s) throw unknown('no such upload');
    if (now() - Math.max(s.startedAt, s.updatedAt) > ttlMs) {
      await discard(id, k, s);
      throw unknown('upload expired');
    }
    return { k, s };
  }

  /** The in-memory hash when it covers exactly this state, else null. */
  const hashFor = (id: string, s: SessionState) => {
    const h = hashes.get(id);
    return h && h.gen === s.gen ? h.hash : null;
  };

  /** Joins the session's tail and the new bytes, uploading every full part; resolves to the new parts and tail. */
  async function streamParts(k: UploadKeys, s: SessionState, source: AsyncIterable<Buffer>, signal?: AbortSignal) {
    const parts: SessionState['parts'] = [];
    let multipart = s.multipart;
    let created: string | null = null;
    const pending: Buffer[] = [];
    let pendingBytes = 0;
    if (s.tailSize > 0) {
      const tail = await getBuffer(b, k.tail(s.gen), signal);
      if (!tail || tail.length !== s.tailSize) throw new AppError('INTERNAL', `upload tail ${k.tail(s.gen)} is missing or damaged`);
      pending.push(tail);
      pendingBytes = tail.length;
    }
    const flush = async (bytes: number) => {
      const all = Buffer.concat(pending, pendingBytes);
      pending.length = 0;
      pending.push(all.subarray(bytes));
      pendingBytes = all.length - bytes;
      if (!multipart) multipart = created = await createMultipart(b, k.data, signal);
      const n = s.parts.length + parts.length + 1;
      parts.push({ n, etag: await uploadPart(b, k.data, multipart, n, all.subarray(0, bytes), signal), size: bytes });
    };
    try {
      for await (const chunk of source) {
        pending.push(chunk);
        pendingBytes += chunk.length;
        let size;
        while (pendingBytes >= (size = partBytesFor(s.parts.length + parts.length))) await flush(size);
      }
    } catch (err) {
      if (created) await abortMultipart(b, k.data, created);
      throw err;
    }
    return { parts, multipart, tail: Buffer.concat(pending, pendingBytes), created };
  }

  return {
    async startUpload() {
      const id = randomId(16);
      const t = now();
      const s: SessionState = { startedAt: t, updatedAt: t, size: 0, gen: 0, multipart: null, parts: [], tailSize: 0 };
      await putObject(b, keys.upload(id).state, Buffer.from(JSON.stringify(s)));
      hashes.set(id, { gen: 0, hash: createHash('sha256') });
      return id;
    },

    uploadSize(id) {
      return withLock(id, async () => (await load(id)).s.size);
    },

    append(id: string, data: Readable, o: AppendOptions = {}) {
      return withLock(id, async () => {
        const { k, s } = await load(id);
        if (o.offset !== undefined && o.offset !== s.size) {
          throw new AppError('RANGE_INVALID', `chunk starts at ${o.offset} but the upload has ${s.size} bytes`, { size: s.size });
        }
        o.signal?.throwIfAborted();
        const verifier = new DigestVerifier({ hash: hashFor(id, s)?.copy() ?? null, offset: s.size, maxBytes: o.maxBytes });
        let result!: Awaited<ReturnType<typeof streamParts>>;
        await pipeline(data, verifier, async (source: AsyncIterable<Buffer>) => {
          result = await streamParts(k, s, source, o.signal);
        }, { signal: o.signal });
        const gen = s.gen + 1;
        try {
          if (result.tail.length > 0) await putObject(b, k.tail(gen), result.tail, o.signal);
          const next: SessionState = {
            ...s, gen, updatedAt: now(), size: s.size + verifier.bytes, multipart: result.multipart,
            parts: [...s.parts, ...result.parts], tailSize: result.tail.length,
          };
          await putObject(b, k.state, Buffer.from(JSON.stringify(next)), o.signal); // the commit point
        } catch (err) {
          if (result.created) await abortMultipart(b, k.data, result.created);
          await deleteObject(b, k.tail(gen)).catch(() => undefined);
          throw err;
        }
        if (s.tailSize > 0) await deleteObject(b, k.tail(s.gen)).catch(() => undefined);
        if (verifier.hash) hashes.set(id, { gen, hash: verifier.hash });
        else hashes.delete(id);
        return s.size + verifier.bytes;
      });
    },

    async commit(id: string, digest: Digest) {
      const target = keys.blob(digest); // DIGEST_INVALID before touching the session
      return withLock(id, async () => {
        const { k, s } = await load(id);
        const running = digestParts(digest).algorithm === 'sha256' ? hashFor(id, s) : null;
        const mismatch = async (actual: string) => {
          await discard(id, k, s);
          return new AppError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${digest}; the upload was discarded`);
        };
        if (running) {
          const actual = `sha256:${running.copy().digest('hex')}`;
          if (actual !== digest) throw await mismatch(actual);
          if ((await headSize(b, target)) === s.size) {
            await discard(id, k, s); // idempotent: the identical blob is already there
            return { digest, size: s.size };
          }
        }
        // Assemble the content at one staging key: the completed multipart upload, or the tail alone.
        let staged: string | null = null;
        if (s.multipart && (await headSize(b, k.data)) === s.size) {
          staged = k.data; // completed by an earlier commit attempt that failed later on
        } else if (s.multipart) {
          const parts = s.parts.map(({ n, etag }) => ({ n, etag }));
          if (s.tailSize > 0) {
            const tail = await getBuffer(b, k.tail(s.gen));
            if (!tail) throw new AppError('INTERNAL', `upload tail ${k.tail(s.gen)} is missing`);
            const n = s.parts.length + 1;
            parts.push({ n, etag: await uploadPart(b, k.data, s.multipart, n, tail) });
          }
          await completeMultipart(b, k.data, s.multipart, parts);
          staged = k.data;
        } else if (s.tailSize > 0) {
          staged = k.tail(s.gen);
        }
        if (!running) {
          const actual = await hashObject(staged, digestParts(digest).algorithm);
          if (actual !== digest) throw await mismatch(actual);
        }
        if ((await headSize(b, target)) !== s.size) {
          if (staged) await copyObject(b, staged, target, s.size);
          else await putObject(b, target, Buffer.alloc(0));
        }
        await discard(id, k, s.multipart ? { ...s, multipart: null } : s); // a completed upload needs no abort
        return { digest, size: s.size };
      });
    },

    async cancel(id) {
      if (!isUploadId(id)) return; // unknown by definition, and never a key
      const k = keys.upload(id);
      await withLock(id, async () => discard(id, k, await readState(k)));
    },

    async sweepUploads(olderThanMs) {
      const cutoff = now() - olderThanMs;
      let removed = 0;
      for (const id of await listDirs(b, keys.uploadsDir)) {
        if (!isUploadId(id) || locks.has(id)) continue;
        const k = keys.upload(id);
        await withLock(id, async () => {
          const s = await readState(k);
          // Without a state (a crash between creating objects and the state, or a discard cut short), the newest
          // object's age decides.
          const last = s ? Math.max(s.startedAt, s.updatedAt) : Math.max(0, ...(await listObjects(b, k.dir)).map((o) => o.lastModified));
          if (last < cutoff) {
            await discard(id, k, s);
            removed++;
          }
        });
      }
      return removed;
    },
  };

  /** Hashes a staged object by reading it back (the fallback when no running hash covers the session). */
  async function hashObject(key: string | null, algorithm: 'sha256' | 'sha512'): Promise<string> {
    const hash = createHash(algorithm);
    if (key) {
      const body = await getStream(b, key);
      if (!body) throw new AppError('INTERNAL', `staged upload ${key} is missing`);
      await pipeline(body, hash);
    }
    return `${algorithm}:${hash.digest('hex')}`;
  }
}
