import { HeadBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { AppError } from '../core/errors.ts';

/** How to reach an S3-compatible bucket (the `s3*` configuration keys). */
export interface S3Settings {
  bucket: string;
  /** Endpoint URL for S3-compatible servers (MinIO, Ceph, s3rver…); absent = AWS for `region`. */
  endpoint?: string;
  /** Default us-east-1 (what most S3-compatible servers expect). */
  region?: string;
  /** Static credentials; both or neither. Neither = the AWS SDK's default chain (AWS_* variables, instance role…). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** `endpoint/bucket/key` instead of `bucket.endpoint/key` (needed by most servers other than AWS). */
  forcePathStyle?: boolean;
}

/**
 * An S3 client for `settings`. Checksums are computed and validated only where the S3 API requires them
 * (`WHEN_REQUIRED`): the SDK's default since 3.729 adds CRC32 trailers that many S3-compatible servers reject, and
 * our blobs are verified by their own digests anyway. Throws AppError INVALID when only one of the two keys is set.
 */
export function createS3Client(settings: S3Settings): S3Client {
  const { accessKeyId, secretAccessKey } = settings;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new AppError('INVALID', 's3AccessKeyId and s3SecretAccessKey must be set together (or both left out to use the AWS default credential chain)');
  }
  // Node 20 is BuildGrid's runtime (the SDK versions pinned here support it); without this the SDK prints a
  // "please upgrade to node >=22" warning on every start. The variable is the SDK's own documented opt-out.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region ?? 'us-east-1',
    forcePathStyle: settings.forcePathStyle ?? false,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
    // Blob GETs stream to slow clients and hold their socket meanwhile: the SDK's default of 50 sockets would queue
    // the 51st concurrent pull behind them.
    requestHandler: { connectionTimeout: 5_000, httpAgent: { keepAlive: true, maxSockets: 512 }, httpsAgent: { keepAlive: true, maxSockets: 512 } },
  });
}

/** Where a bucket lives, for messages: `http://host:port/bucket` or `s3://bucket (region)`. */
export function describeBucket(settings: Pick<S3Settings, 'bucket' | 'endpoint' | 'region'>): string {
  return settings.endpoint
    ? `${settings.endpoint.replace(/\/+$/, '')}/${settings.bucket}`
    : `s3://${settings.bucket} (${settings.region ?? 'us-east-1'})`;
}

/**
 * Checks that the bucket answers with these credentials (HeadBucket), so a misconfiguration stops the server at
 * start with a message saying what is wrong, instead of failing the first push. Throws AppError INVALID.
 */
export async function checkBucket(client: S3Client, settings: S3Settings): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: settings.bucket }));
  } catch (err) {
    const status = httpStatusOf(err);
    const hint = status === 404 ? 'the bucket does not exist: create it, or fix s3Bucket'
      : status === 403 || status === 401 ? 'access denied: check s3AccessKeyId / s3SecretAccessKey and the bucket policy'
        : status === undefined ? 'the endpoint did not answer: check s3Endpoint (and s3ForcePathStyle for non-AWS servers)'
          : `the server answered HTTP ${status}`;
    throw new AppError('INVALID', `cannot use the S3 bucket at ${describeBucket(settings)}: ${errorReason(err)} (${hint})`, { cause: err });
  }
}

/** The HTTP status of an S3 error, or undefined when no response came back (network, DNS, timeout). */
export function httpStatusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** True for "no such key" from any S3 operation (GetObject says NoSuchKey, HeadObject only 404). */
export function isNoSuchKey(err: unknown): boolean {
  if (err instanceof S3ServiceException && err.name === 'NoSuchBucket') return false;
  return (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.name === 'NotFound')) || httpStatusOf(err) === 404;
}

/** A readable reason from an SDK or network error (ECONNREFUSED to `localhost` arrives as an AggregateError). */
export function errorReason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorReason(err.errors[0]);
  const e = err as { name?: string; message?: string; code?: string } | null;
  const text = e?.message && e.message !== 'UnknownError' ? e.message : (e?.code ?? e?.name ?? String(err));
  return e?.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
}
