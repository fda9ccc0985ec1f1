/**
 * The object-key layout of the S3 blob store. Every key the S3 drivers touch is built here and nowhere else.
 *
 *   <prefix>                           optional, e.g. "buildgrid/" to share a bucket
 *     blobs/                           committed, digest-verified content: written only by one PutObject of verified
 *       sha256/                        bytes, or by a server-side copy of a complete staging object whose digest was
 *         ab/                          checked. An S3 write is atomic, so a reader never sees a partial blob.
 *           abcdef0123…
 *     uploads/                         upload sessions (any node may serve any request of a session)
 *       <id>/                          id: base64url, 8–64 characters (validated before it becomes a key)
 *         state.json                   the session: size, parts, tail generation, timestamps. Rewritten after each
 *                                      append; that PUT is the append's commit point
 *         tail-<gen>                   bytes after the last full part (smaller than a part); a new name per append so
 *                                      a failed append never disturbs the tail the state still points at
 *         data                         the multipart upload's key, completed only at commit (staging)
 *     logs/
 *       <build id>/
 *         0000000001-0000000000.jsonl  build-log segments, named by their first line number and the log's bytes
 *                                      before them (s3-logs.ts)
 *     gc-trash/<batch>/sha256-abcd…    blobs garbage collection is sweeping: copied here, then deleted from blobs/,
 *                                      and purged once the database transaction that decided it has committed
 *     quarantine/                      blobs fsck found corrupt, and stray objects under blobs/ (s3-gc.ts)
 */
import { AppError } from '../core/errors.ts';
import { digestParts, isDigest, type Digest } from '../core/digest.ts';
import { isUploadId } from './paths.ts';

/** Keys of one upload session. */
export interface UploadKeys {
  /** Prefix of every object of the session (ends with '/'). */
  dir: string;
  state: string;
  data: string;
  tail(gen: number): string;
}

/** The layout under `prefix`. */
export interface S3Keys {
  readonly prefix: string;
  readonly uploadsDir: string;
  readonly logsDir: string;
  readonly blobsDir: string;
  readonly gcTrashDir: string;
  readonly quarantineDir: string;
  /** Key of a committed blob. Throws AppError DIGEST_INVALID for a malformed digest. */
  blob(digest: Digest): string;
  /** Keys of an upload session. Throws AppError BLOB_UPLOAD_UNKNOWN for an id that is not a valid upload id. */
  upload(id: string): UploadKeys;
}

/** Builds the layout for `prefix` ('' or ending with '/'; a missing trailing slash is added). */
export function s3Keys(prefix = ''): S3Keys {
  const p = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  const uploadsDir = `${p}uploads/`;
  return {
    prefix: p,
    uploadsDir,
    logsDir: `${p}logs/`,
    blobsDir: `${p}blobs/`,
    gcTrashDir: `${p}gc-trash/`,
    quarantineDir: `${p}quarantine/`,
    blob(digest) {
      if (!isDigest(digest)) throw new AppError('DIGEST_INVALID', `invalid digest "${String(digest).slice(0, 80)}"`);
      const { algorithm, hex } = digestParts(digest);
      return `${p}blobs/${algorithm}/${hex.slice(0, 2)}/${hex}`;
    },
    upload(id) {
      if (!isUploadId(id)) throw new AppError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown: malformed upload id');
      const dir = `${uploadsDir}${id}/`;
      return { dir, state: `${dir}state.json`, data: `${dir}data`, tail: (gen) => `${dir}tail-${gen}` };
    },
  };
}
