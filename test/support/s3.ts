// An S3-compatible server for tests.
//
// By default s3rver (npm, pinned 3.7) runs in this process on a free loopback port over a temporary directory,
// with one bucket; stop() closes it and removes the directory. BUILDGRID_TEST_S3_ENDPOINT (+ _BUCKET, and
// _ACCESS_KEY_ID / _SECRET_ACCESS_KEY unless the server takes s3rver's S3RVER/S3RVER) points the tests at another
// server instead (MinIO, a real bucket); each test then works under a prefix of its own and removes what it made.
//
// s3rver checks that the access key id exists (S3RVER) but not V4 signatures, and it lacks AbortMultipartUpload,
// ListMultipartUploads and UploadPartCopy (the drivers treat the first two as best effort; the third is only used
// for blobs over 5 GiB).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3Settings } from '../../src/storage/s3-client.ts';

export interface TestS3 {
  /** Settings for createS3Client / the s3* configuration keys. */
  settings: Required<Pick<S3Settings, 'bucket' | 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey' | 'forcePathStyle'>>;
  /** 'in-process s3rver' or the BUILDGRID_TEST_S3_ENDPOINT. */
  source: string;
  stop(): Promise<void>;
}

/** Starts (or connects to) the test S3 server. */
export async function startTestS3(): Promise<TestS3> {
  const env = process.env;
  if (env.BUILDGRID_TEST_S3_ENDPOINT) {
    return {
      source: env.BUILDGRID_TEST_S3_ENDPOINT,
      settings: {
        endpoint: env.BUILDGRID_TEST_S3_ENDPOINT, bucket: env.BUILDGRID_TEST_S3_BUCKET ?? 'buildgrid-test',
        region: env.BUILDGRID_TEST_S3_REGION ?? 'us-east-1', forcePathStyle: true,
        accessKeyId: env.BUILDGRID_TEST_S3_ACCESS_KEY_ID ?? 'S3RVER', secretAccessKey: env.BUILDGRID_TEST_S3_SECRET_ACCESS_KEY ?? 'S3RVER',
      },
      stop: async () => undefined,
    };
  }
  const directory = await mkdtemp(join(tmpdir(), 'bg-s3-'));
  const bucket = 'buildgrid-test';
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  let stopped: Promise<void> | null = null;
  return {
    source: 'in-process s3rver',
    settings: {
      endpoint: `http://127.0.0.1:${port}`, bucket, region: 'us-east-1', forcePathStyle: true,
      accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER',
    },
    stop() {
      stopped ??= (async () => {
        await server.close().catch(() => undefined);
        await rm(directory, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
