import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError } from '../core/errors.ts';
import { digestOfLike, sha256Of, type Digest } from '../core/digest.ts';
import type { BlobFile, BlobWriter } from './types.ts';
import { checkBucket, describeBucket, type S3Settings } from './s3-client.ts';
import { s3BlobFile } from './s3-file.ts';
import { s3Keys } from './s3-keys.ts';
import { deleteObject, getBuffer, headSize, putObject, type Bucket } from './s3-objects.ts';
import { createS3Uploads } from './s3-uploads.ts';

/** Options for {@link createS3BlobStore}. */
export interface S3BlobStoreOptions {
  client: S3Client;
  /** The bucket and where it is (endpoint, region: for messages and the start-up check). */
  settings: Pick<S3Settings, 'bucket' | 'endpoint' | 'region'>;
  /** Key prefix inside the bucket ('' = the bucket root). */
  prefix?: string;
  /** Upload sessions idle for longer than this are BLOB_UPLOAD_UNKNOWN and removed. Default 24 hours. */
  uploadTtlMs?: number;
  /** Size of multipart-upload parts (at least S3's 5 MiB minimum). Default 8 MiB. */
  partBytes?: number;
  /**
   * When set, the store offers `presignedUrl` (readers may redirect blob GETs to the bucket) with URLs valid this
   * long. Default: no presigning.
   */
  presignSeconds?: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

/** An S3 BlobWriter, plus what the server needs around it. */
export interface S3BlobStore extends BlobWriter {
  /** Removes upload sessions idle for longer than `olderThanMs` (default: the upload TTL). */
  sweepUploads(olderThanMs?: number): Promise<number>;
  /** Resolves when the bucket answers with these credentials; throws AppError INVALID saying what is wrong. */
  check(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A content-addressed blob store in an S3-compatible bucket (key layout: s3-keys.ts; upload sessions:
 * s3-uploads.ts; reads: s3-file.ts). Like the filesystem driver, a blob key only ever receives complete,
 * digest-verified content. Throws the AppError codes documented on BlobReader/BlobWriter; a bucket that fails is
 * AppError INTERNAL naming the operation and key.
 */
export function createS3BlobStore(opts: S3BlobStoreOptions): S3BlobStore {
  const b: Bucket = { client: opts.client, bucket: opts.settings.bucket, where: describeBucket(opts.settings) };
  const keys = s3Keys(opts.prefix);
  const ttlMs = opts.uploadTtlMs ?? DAY_MS;
  const uploads = createS3Uploads({ bucket: b, keys, ttlMs, now: opts.now ?? Date.now, partBytes: opts.partBytes });

  async function openBlob(digest: Digest): Promise<BlobFile> {
    const key = keys.blob(digest);
    const size = await headSize(b, key);
    if (size === null) throw new AppError('BLOB_UNKNOWN', `blob unknown: ${digest}`);
    return s3BlobFile(b, key, size);
  }

  const store: S3BlobStore = {
    async stat(digest) {
      return headSize(b, keys.blob(digest));
    },
    open: openBlob,

    async readAll(digest, maxBytes) {
      const key = keys.blob(digest);
      const size = await headSize(b, key);
      if (size === null) throw new AppError('BLOB_UNKNOWN', `blob unknown: ${digest}`);
      if (size > maxBytes) throw new AppError('SIZE_INVALID', `blob ${digest} is ${size} bytes, more than the ${maxBytes} allowed`);
      const data = await getBuffer(b, key);
      if (data === null) throw new AppError('BLOB_UNKNOWN', `blob unknown: ${digest}`);
      return data;
    },

    async put(data, expected) {
      const digest = expected ? digestOfLike(expected, data) : sha256Of(data);
      if (expected && digest !== expected) throw new AppError('DIGEST_INVALID', `content has digest ${digest}, not ${expected}`);
      const key = keys.blob(digest);
      // Verified in memory first; one PUT then makes it visible whole.
      if ((await headSize(b, key)) !== data.length) await putObject(b, key, data);
      return digest;
    },

    startUpload: uploads.startUpload,
    uploadSize: uploads.uploadSize,
    append: uploads.append,
    commit: uploads.commit,
    cancel: uploads.cancel,

    async delete(digest) {
      await deleteObject(b, keys.blob(digest));
    },

    sweepUploads(olderThanMs = ttlMs) {
      return uploads.sweepUploads(olderThanMs);
    },

    check: () => checkBucket(opts.client, opts.settings as S3Settings),
  };

  const presignSeconds = opts.presignSeconds;
  if (presignSeconds !== undefined) {
    store.presignedUrl = async (digest) => {
      const key = keys.blob(digest);
      return getSignedUrl(opts.client, new GetObjectCommand({ Bucket: b.bucket, Key: key }), { expiresIn: presignSeconds });
    };
  }
  return store;
}
