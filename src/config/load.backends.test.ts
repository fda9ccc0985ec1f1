import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './load.ts';

test('backend settings: databaseUrl and s3* come from BUILDGRID_DATABASE_URL and BUILDGRID_S3_*', () => {
  const c = loadConfig({
    env: {
      BUILDGRID_DATABASE_URL: 'postgresql://bg:pw@db:5432/buildgrid', BUILDGRID_S3_BUCKET: 'images', BUILDGRID_S3_ENDPOINT: 'http://minio:9000',
      BUILDGRID_S3_REGION: 'eu-west-1', BUILDGRID_S3_ACCESS_KEY_ID: 'AKID', BUILDGRID_S3_SECRET_ACCESS_KEY: 'secret',
      BUILDGRID_S3_FORCE_PATH_STYLE: 'true', BUILDGRID_S3_PRESIGN_REDIRECT: '1',
    },
  });
  assert.deepEqual(
    [c.databaseUrl, c.s3Bucket, c.s3Endpoint, c.s3Region, c.s3AccessKeyId, c.s3SecretAccessKey, c.s3ForcePathStyle, c.s3PresignRedirect],
    ['postgresql://bg:pw@db:5432/buildgrid', 'images', 'http://minio:9000', 'eu-west-1', 'AKID', 'secret', true, true],
  );
  const d = loadConfig({ env: {} });
  assert.deepEqual([d.databaseUrl, d.s3Bucket, d.s3Region, d.s3ForcePathStyle, d.s3PresignRedirect], [undefined, undefined, 'us-east-1', false, false]);
});

test('backend settings are validated with messages that name the key', () => {
  const bad = (env: Record<string, string>, message: RegExp) => assert.throws(() => loadConfig({ env }), message);
  bad({ BUILDGRID_DATABASE_URL: 'mysql://x/y' }, /"databaseUrl": use a postgres:\/\/user:password@host:port\/database URL/);
  bad({ BUILDGRID_S3_ENDPOINT: 'http://minio:9000' }, /"s3Bucket": set s3Bucket to use S3 storage \(s3Endpoint given without it\)/);
  bad({ BUILDGRID_S3_PRESIGN_REDIRECT: 'true' }, /"s3Bucket": .*s3PresignRedirect given without it/);
  bad({ BUILDGRID_S3_BUCKET: 'images', BUILDGRID_S3_ACCESS_KEY_ID: 'AKID' }, /"s3SecretAccessKey": s3AccessKeyId and s3SecretAccessKey must be set together/);
  bad({ BUILDGRID_S3_FORCE_PATH_STYLE: 'maybe' }, /"s3ForcePathStyle"/);
});
