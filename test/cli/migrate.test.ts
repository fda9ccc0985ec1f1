// `buildgrid migrate` applies migrations explicitly and says which; `buildgrid serve` refuses a database migrated by
// a newer BuildGrid (and an unusable S3 bucket) with a message that says what to do — on SQLite and PostgreSQL.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { MIGRATIONS } from '../../src/metadata/index.ts';
import { cli } from '../support/cli.ts';
import { skipOrFail } from '../harness/require.ts';
import { testPostgres } from '../support/postgres.ts';

const ALL = Object.keys(MIGRATIONS).sort();
const LATEST = ALL.at(-1)!;
const dir = mkdtempSync(join(tmpdir(), 'bg-migrate-'));
const pgServer = await testPostgres();
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (!('skip' in pgServer)) await pgServer.stop();
});

test('migrate on SQLite applies every migration once, then has nothing to apply', async () => {
  const dataDir = join(dir, 'sqlite');
  const first = await cli(['migrate', '--data-dir', dataDir]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`^applied ${ALL.length} migrations to SQLite .*buildgrid\\.db:\\n${ALL.map((m) => `  ${m}\\n`).join('')}schema is now ${LATEST}\\n$`));
  const again = await cli(['migrate', '--data-dir', dataDir, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual({ ...again.json, database: undefined }, { database: undefined, applied: [], version: LATEST });
});

test('serve and migrate refuse a SQLite database migrated by a newer BuildGrid, saying what to do', async () => {
  const dataDir = join(dir, 'future');
  assert.equal((await cli(['migrate', '--data-dir', dataDir])).code, 0);
  const raw = new BetterSqlite3(join(dataDir, 'buildgrid.db'));
  raw.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('9999_from_the_future', new Date().toISOString());
  raw.close();
  for (const args of [['serve', '--port', '0', '--data-dir', dataDir], ['migrate', '--data-dir', dataDir]]) {
    const r = await cli(args, { BUILDGRID_LOG_LEVEL: 'silent' }, undefined, 30_000);
    assert.equal(r.code, 1, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^error: SQLite .*buildgrid\.db: the metadata database was migrated by a newer BuildGrid \(unknown migrations: 9999_from_the_future\)/);
    assert.match(r.stderr, new RegExp(`\\nhint: this BuildGrid knows the schema up to ${LATEST}; run the BuildGrid version that migrated this database`));
  }
});

test('serve refuses an S3 bucket it cannot reach, naming the setting to fix', async () => {
  const r = await cli(['serve', '--port', '0', '--data-dir', join(dir, 's3')], {
    BUILDGRID_LOG_LEVEL: 'silent', BUILDGRID_S3_BUCKET: 'images', BUILDGRID_S3_ENDPOINT: 'http://127.0.0.1:1',
    BUILDGRID_S3_ACCESS_KEY_ID: 'k', BUILDGRID_S3_SECRET_ACCESS_KEY: 's', BUILDGRID_S3_FORCE_PATH_STYLE: 'true',
  }, undefined, 30_000);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /^error: cannot use the S3 bucket at http:\/\/127\.0\.0\.1:1\/images: .*ECONNREFUSED.*\nhint: fix the s3\* settings/);
});

if ('skip' in pgServer) {
  const why = pgServer.skip;
  test('migrate and serve on PostgreSQL', (t) => skipOrFail(t, 'postgres', why));
} else {
  test('migrate on PostgreSQL (BUILDGRID_DATABASE_URL or --database-url); serve refuses a newer schema there too', async () => {
    const db = await pgServer.createDatabase();
    const first = await cli(['migrate', '--json'], { BUILDGRID_DATABASE_URL: db.url, BUILDGRID_DATA_DIR: join(dir, 'unused') });
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(first.json.applied, ALL);
    assert.match(first.json.database, /^PostgreSQL postgres:\/\/postgres@127\.0\.0\.1:\d+\/bgt_/);
    const again = await cli(['migrate', '--database-url', db.url]);
    assert.match(again.stdout, new RegExp(`is up to date \\(schema ${LATEST}\\); nothing to apply`));
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query('insert into kysely_migration (name, timestamp) values ($1, $2)', ['9999_from_the_future', new Date().toISOString()]);
    await c.end();
    const r = await cli(['serve', '--port', '0', '--data-dir', join(dir, 'pg-serve')], { BUILDGRID_LOG_LEVEL: 'silent', BUILDGRID_DATABASE_URL: db.url }, undefined, 30_000);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: PostgreSQL postgres:\/\/postgres@.*: the metadata database was migrated by a newer BuildGrid/);
    await db.drop();
  });
}
