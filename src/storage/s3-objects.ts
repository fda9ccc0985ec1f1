import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand,
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand,
  UploadPartCopyCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { AppError, isAppError } from '../core/errors.ts';
import { errorReason, isNoSuchKey } from './s3-client.ts';

/**
 * Thin, typed wrappers over the S3 operations the drivers use. They know keys and bytes, not digests or sessions.
 * Failures other than "no such key" (reported as null or false where documented) become AppError INTERNAL naming the
 * operation, key and bucket; an aborted call rejects with the AbortError the caller's signal caused.
 */
export interface Bucket {
  readonly client: S3Client;
  readonly bucket: string;
  /** For messages: where the bucket is (no credentials). */
  readonly where: string;
}

/** The largest object a single CopyObject may copy (S3's limit); larger ones are copied part by part. */
const COPY_LIMIT = 5 * 1024 ** 3;
const COPY_PART = 1024 ** 3;

function fail(b: Bucket, op: string, key: string, err: unknown): never {
  if (isAppError(err)) throw err;
  if ((err as Error | null)?.name === 'AbortError') throw err;
  throw new AppError('INTERNAL', `S3 ${op} of ${key} in ${b.where} failed: ${errorReason(err)}`, { cause: err });
}

/** Size of an object, or null when there is none. */
export async function headSize(b: Bucket, key: string): Promise<number | null> {
  try {
    const r = await b.client.send(new HeadObjectCommand({ Bucket: b.bucket, Key: key }));
    return r.ContentLength ?? 0;
  } catch (err) {
    if (isNoSuchKey(err)) return null;
    fail(b, 'HeadObject', key, err);
  }
}

/** Size and last-modified time (epoch ms) of an object, or null when there is none. */
export async function headInfo(b: Bucket, key: string): Promise<{ size: number; mtimeMs: number } | null> {
  try {
    const r = await b.client.send(new HeadObjectCommand({ Bucket: b.bucket, Key: key }));
    return { size: r.ContentLength ?? 0, mtimeMs: r.LastModified?.getTime() ?? 0 };
  } catch (err) {
    if (isNoSuchKey(err)) return null;
    fail(b, 'HeadObject', key, err);
  }
}

/** A stream of an object (bytes [start, end] inclusive when given), or null when there is none. */
export async function getStream(b: Bucket, key: string, range?: { start: number; end?: number }, signal?: AbortSignal): Promise<Readable | null> {
  try {
    const r = await b.client.send(new GetObjectCommand({
      Bucket: b.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end ?? ''}` : undefined,
    }), { abortSignal: signal });
    return r.Body as Readable;
  } catch (err) {
    if (isNoSuchKey(err)) return null;
    fail(b, 'GetObject', key, err);
  }
}

/** A whole object in memory (for small objects: session state, tails, log segments), or null when there is none. */
export async function getBuffer(b: Bucket, key: string, signal?: AbortSignal): Promise<Buffer | null> {
  const body = await getStream(b, key, undefined, signal);
  if (!body) return null;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of body) chunks.push(chunk as Buffer);
  } catch (err) {
    fail(b, 'GetObject', key, err);
  }
  return Buffer.concat(chunks);
}

/** Writes an object in one PUT (atomic: readers see the old object, or none, until it is complete). */
export async function putObject(b: Bucket, key: string, body: Buffer, signal?: AbortSignal): Promise<void> {
  try {
    await b.client.send(new PutObjectCommand({ Bucket: b.bucket, Key: key, Body: body, ContentLength: body.length }), { abortSignal: signal });
  } catch (err) {
    fail(b, 'PutObject', key, err);
  }
}

/** Deletes an object; deleting a missing one is not an error. */
export async function deleteObject(b: Bucket, key: string): Promise<void> {
  try {
    await b.client.send(new DeleteObjectCommand({ Bucket: b.bucket, Key: key }));
  } catch (err) {
    if (isNoSuchKey(err)) return;
    fail(b, 'DeleteObject', key, err);
  }
}

/** One listed object. */
export interface Listed { key: string; size: number; lastModified: number }

/** Every object under `prefix` (all pages), in key order. */
export async function listObjects(b: Bucket, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    let r;
    try {
      r = await b.client.send(new ListObjectsV2Command({ Bucket: b.bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (err) {
      fail(b, 'ListObjectsV2', prefix, err);
    }
    for (const o of r.Contents ?? []) {
      if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 });
    }
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The "directories" directly under `prefix` (common prefixes with delimiter '/'), e.g. upload session ids. */
export async function listDirs(b: Bucket, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    let r;
    try {
      r = await b.client.send(new ListObjectsV2Command({ Bucket: b.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
    } catch (err) {
      fail(b, 'ListObjectsV2', prefix, err);
    }
    for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix.slice(prefix.length).replace(/\/$/, ''));
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Starts a multipart upload to `key`; resolves to its UploadId. */
export async function createMultipart(b: Bucket, key: string, signal?: AbortSignal): Promise<string> {
  try {
    const r = await b.client.send(new CreateMultipartUploadCommand({ Bucket: b.bucket, Key: key }), { abortSignal: signal });
    if (!r.UploadId) throw new Error('the server returned no UploadId');
    return r.UploadId;
  } catch (err) {
    fail(b, 'CreateMultipartUpload', key, err);
  }
}

/** Uploads part `partNumber` (1-based; every part but the last must be at least 5 MiB); resolves to its ETag. */
export async function uploadPart(b: Bucket, key: string, uploadId: string, partNumber: number, body: Buffer, signal?: AbortSignal): Promise<string> {
  try {
    const r = await b.client.send(new UploadPartCommand({
      Bucket: b.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length,
    }), { abortSignal: signal });
    if (!r.ETag) throw new Error('the server returned no ETag for the part');
    return r.ETag;
  } catch (err) {
    fail(b, `UploadPart ${partNumber}`, key, err);
  }
}

/** Completes a multipart upload from exactly `parts` (parts uploaded but not listed are discarded by S3). */
export async function completeMultipart(b: Bucket, key: string, uploadId: string, parts: { n: number; etag: string }[]): Promise<void> {
  try {
    await b.client.send(new CompleteMultipartUploadCommand({
      Bucket: b.bucket, Key: key, UploadId: uploadId,
      MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
    }));
  } catch (err) {
    fail(b, 'CompleteMultipartUpload', key, err);
  }
}

/**
 * Aborts a multipart upload, best effort: an upload already gone is fine, and a server that cannot abort (s3rver
 * has no AbortMultipartUpload) leaves the parts to its own cleanup (on AWS, a lifecycle rule for incomplete uploads).
 */
export async function abortMultipart(b: Bucket, key: string, uploadId: string): Promise<void> {
  await b.client.send(new AbortMultipartUploadCommand({ Bucket: b.bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
}

/**
 * Server-side copy of `from` (of `size` bytes) to `to`. The destination appears whole or not at all: CopyObject up
 * to 5 GiB, a multipart copy (UploadPartCopy, 1 GiB parts) beyond, completed only once every part is copied.
 */
export async function copyObject(b: Bucket, from: string, to: string, size: number): Promise<void> {
  const source = `${b.bucket}/${from}`;
  if (size <= COPY_LIMIT) {
    try {
      await b.client.send(new CopyObjectCommand({ Bucket: b.bucket, Key: to, CopySource: source }));
    } catch (err) {
      fail(b, `CopyObject from ${from}`, to, err);
    }
    return;
  }
  const uploadId = await createMultipart(b, to);
  try {
    const parts: { n: number; etag: string }[] = [];
    for (let start = 0, n = 1; start < size; start += COPY_PART, n++) {
      const end = Math.min(start + COPY_PART, size) - 1;
      const r = await b.client.send(new UploadPartCopyCommand({
        Bucket: b.bucket, Key: to, UploadId: uploadId, PartNumber: n, CopySource: source, CopySourceRange: `bytes=${start}-${end}`,
      }));
      if (!r.CopyPartResult?.ETag) throw new Error(`no ETag for copied part ${n}`);
      parts.push({ n, etag: r.CopyPartResult.ETag });
    }
    await completeMultipart(b, to, uploadId, parts);
  } catch (err) {
    await abortMultipart(b, to, uploadId);
    fail(b, `multipart copy from ${from}`, to, err);
  }
}
