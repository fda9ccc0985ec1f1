import type { Readable } from 'node:stream';
import type { Digest } from '../core/digest.ts';

/**
 * The storage layer's contracts. Storage knows digests and bytes; it knows nothing of HTTP, repositories or people.
 * The public /v2 read path only ever receives a BlobReader ("read-only by construction"); the BlobWriter is given
 * to the ingest path (admin import, builder pushes) and to admin tools.
 */

/** An open blob for positional reads (the registry's hot path reads it in large reused buffers). */
export interface BlobFile {
  readonly size: number;
  /** Reads up to `length` bytes at `position` into `buffer` at `offset`; resolves to the bytes read (0 at end). */
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** Read access to committed, digest-verified blobs. */
export interface BlobReader {
  /** Size of the blob in bytes, or null when it is not stored. */
  stat(digest: Digest): Promise<number | null>;
  /** Opens a blob. Throws AppError BLOB_UNKNOWN when it is not stored. */
  open(digest: Digest): Promise<BlobFile>;
  /** Reads a whole blob into memory. Throws BLOB_UNKNOWN, or SIZE_INVALID when it is larger than `maxBytes`. */
  readAll(digest: Digest, maxBytes: number): Promise<Buffer>;
  /**
   * Optional: a URL from which any client may GET the blob directly for a limited time (an S3 presigned URL), so
   * the registry can redirect instead of streaming. Only stores configured for it offer it; it does not check that
   * the blob exists (the caller has). Throws AppError DIGEST_INVALID for a malformed digest.
   */
  presignedUrl?(digest: Digest): Promise<string>;
}

/** Options for appending to an upload session. */
export interface AppendOptions {
  /** When set, the append must start at this offset (a Content-Range start); else RANGE_INVALID. */
  offset?: number;
  /** Upper bound on the session's total size; exceeding it throws SIZE_INVALID and discards the chunk. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * Write access: upload sessions that are verified and committed by rename. Nothing half-written is ever visible
 * to a BlobReader: data lands in an upload area and is renamed into the content-addressed tree only when its digest
 * matches.
 */
export interface BlobWriter extends BlobReader {
  /** Stores `data`; when `expected` is given the digest must match (else DIGEST_INVALID). Resolves to the digest. */
  put(data: Buffer, expected?: Digest): Promise<Digest>;
  /** Starts an upload session and returns its id. */
  startUpload(): Promise<string>;
  /** Current size of an upload session. Throws BLOB_UPLOAD_UNKNOWN for an unknown/expired id. */
  uploadSize(id: string): Promise<number>;
  /**
   * Appends a stream to an upload session; resolves to the new total size. Throws BLOB_UPLOAD_UNKNOWN, RANGE_INVALID
   * (offset mismatch), SIZE_INVALID (maxBytes exceeded). On any failure the session keeps its previous content.
   */
  append(id: string, data: Readable, opts?: AppendOptions): Promise<number>;
  /**
   * Verifies the session's content against `digest` and commits it. Throws BLOB_UPLOAD_UNKNOWN, DIGEST_INVALID (mismatch;
   * the session is discarded). Idempotent when the blob already exists.
   */
  commit(id: string, digest: Digest): Promise<{ digest: Digest; size: number }>;
  /** Discards an upload session (no error when unknown). */
  cancel(id: string): Promise<void>;
  /** Deletes a committed blob (admin / garbage collection only). No error when absent. */
  delete(digest: Digest): Promise<void>;
}
