import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { describePostgresUrl, openMetadata, type Metadata, type MetadataOptions } from '../metadata/index.ts';
import { createFsBlobStore } from '../storage/fs-blobs.ts';
import { createFsBlobMaintenance, type BlobMaintenance } from '../storage/gc.ts';
import { createFsLogStore, type LogStore } from '../storage/logs.ts';
import type { S3Settings } from '../storage/s3-client.ts';
import type { BlobWriter } from '../storage/types.ts';

/** How long a presigned blob URL (s3PresignRedirect) stays valid: enough for a slow client to start the download. */
const PRESIGN_SECONDS = 15 * 60;

/** The storage drivers chosen by the configuration. */
export interface Storage {
  blobs: BlobWriter & { sweepUploads(olderThanMs?: number): Promise<number> };
  /** Garbage collection's and fsck's view of the same blobs. */
  maintenance: BlobMaintenance;
  logs: LogStore;
  /** For the start-up log: which driver and where (no secrets). */
  description: string;
  close(): void;
}

/** Which metadata store the configuration selects: PostgreSQL for databaseUrl, else SQLite in the data directory. */
export function metadataOptions(config: Config, dataDir: string): MetadataOptions {
  return config.databaseUrl
    ? { kind: 'postgres', url: config.databaseUrl }
    : { kind: 'sqlite', path: join(dataDir, 'buildgrid.db') };
}

/** Where the metadata lives, for logs and messages (a PostgreSQL URL without its password). */
export function describeMetadata(opts: MetadataOptions): string {
  return opts.kind === 'postgres' ? `PostgreSQL ${describePostgresUrl(opts.url)}` : `SQLite ${opts.path}`;
}

/**
 * Opens the configured metadata store (migrating it). Throws AppError INVALID when it cannot be opened or was
 * migrated by a newer BuildGrid (the message says which).
 */
export function openConfiguredMetadata(config: Config, dataDir: string, onMigrated?: (applied: string[]) => void): Promise<Metadata> {
  return openMetadata({ ...metadataOptions(config, dataDir), onMigrated });
}

/** The S3 settings of the configuration, or null for filesystem storage. */
export function s3Settings(config: Config): S3Settings | null {
  if (!config.s3Bucket) return null;
  return {
    bucket: config.s3Bucket, endpoint: config.s3Endpoint, region: config.s3Region,
    accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey, forcePathStyle: config.s3ForcePathStyle,
  };
}

/**
 * Opens the configured blob and log storage: the S3 bucket when s3Bucket is set (checked at once, so a wrong
 * endpoint, bucket or key stops the start with AppError INVALID saying which), else the filesystem under dataDir.
 */
export async function openStorage(config: Config, dataDir: string): Promise<Storage> {
  const uploadTtlMs = config.uploadTtlSeconds * 1000;
  const settings = s3Settings(config);
  if (!settings) {
    const root = join(dataDir, 'storage');
    const blobs = createFsBlobStore({ root, uploadTtlMs });
    return {
      blobs, maintenance: createFsBlobMaintenance({ root }), logs: createFsLogStore({ root, maxBytes: config.logMaxBytes }),
      description: `filesystem ${root}`, close: () => undefined,
    };
  }
  // The S3 modules (and the AWS SDK, ~25 MiB) are loaded only when a bucket is configured.
  const [{ createS3BlobStore }, { createS3Client, describeBucket }, { createS3BlobMaintenance }, { createS3LogStore }] = await Promise.all([
    import('../storage/s3-blobs.ts'), import('../storage/s3-client.ts'), import('../storage/s3-gc.ts'), import('../storage/s3-logs.ts'),
  ]);
  const client = createS3Client(settings);
  const blobs = createS3BlobStore({
    client, settings, uploadTtlMs, presignSeconds: config.s3PresignRedirect ? PRESIGN_SECONDS : undefined,
  });
  try {
    await blobs.check();
  } catch (err) {
    client.destroy();
    throw err;
  }
  return {
    blobs,
    maintenance: createS3BlobMaintenance({ client, settings }),
    logs: createS3LogStore({ client, settings, maxBytes: config.logMaxBytes }),
    description: `S3 ${describeBucket(settings)}${config.s3PresignRedirect ? ' (blob GETs redirect to presigned URLs)' : ''}`,
    close: () => client.destroy(),
  };
}
