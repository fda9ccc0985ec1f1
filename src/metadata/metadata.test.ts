import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import {
  createMetadata, migrateToLatest, openMetadata, openSqlite, schemaStatus, MIGRATIONS, MIGRATION_TABLE,
  type Database, type MetadataOptions,
} from './index.ts';
import { sqliteKysely } from './sqlite-dialect.ts';
import { buildInput, commitOf, seed } from './suite-fixtures.ts';
import { digestOf, rejectsWith } from './suite-helpers.ts';
import { runMetadataSuite } from './suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'buildgrid-metadata-'));
let n = 0;
const freshPath = () => join(dir, `store-${++n}.db`);

after(() => {
  rmSync(dir, { recursive: true, force: true });
  assert.equal(existsSync(dir), false, 'temporary databases are removed');
});

runMetadataSuite('sqlite file', () => openSqlite({ path: freshPath() }), {
  async openTwins() {
    const path = freshPath();
    const first = await openSqlite({ path });
    return [first, await openSqlite({ path })];
  },
});
runMetadataSuite('sqlite :memory:', () => openMetadata({ kind: 'sqlite', path: ':memory:' }));

/** Runs `fn` with a raw better-sqlite3 handle (and Kysely over it) on `path`, closing both afterwards. */
async function withRaw<T>(path: string, fn: (raw: BetterSqlite3.Database, db: Kysely<any>) => Promise<T> | T): Promise<T> {
  const raw = new BetterSqlite3(path);
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: raw }) });
  try {
    return await fn(raw, db);
  } finally {
    await db.destroy();
    raw.close();
  }
}

describe('sqlite store', () => {
  test('uses WAL, applies every migration once, and reopening migrates nothing', async () => {
    const path = freshPath();
    const m = await openSqlite({ path });
    const acme = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
    await m.close();
    await withRaw(path, async (raw, db) => {
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const status = await schemaStatus(db);
      assert.deepEqual(status.applied, Object.keys(MIGRATIONS).sort());
      assert.deepEqual(status.pending, []);
      assert.deepEqual(status.unknown, []);
      assert.equal(status.version, Object.keys(MIGRATIONS).sort().at(-1));
    });
    // Reopening runs no migration again and keeps the data.
    const again = await openSqlite({ path });
    assert.deepEqual(await again.accounts.get(acme.id), acme);
    await again.close();
    await withRaw(path, (raw) => {
      const rows = raw.prepare(`select name from ${MIGRATION_TABLE}`).all();
      assert.equal(rows.length, Object.keys(MIGRATIONS).length);
    });
  });

  test('schemaStatus reports an empty database as all pending', async () => {
    await withRaw(':memory:', async (_raw, db) => {
      const status = await schemaStatus(db);
      assert.deepEqual(status, { applied: [], pending: Object.keys(MIGRATIONS).sort(), unknown: [], version: null });
    });
  });

  test('refuses a database migrated by a newer BuildGrid, and leaves it untouched', async () => {
    const path = freshPath();
    await (await openSqlite({ path })).close();
    await withRaw(path, (raw) => {
      raw.prepare(`insert into ${MIGRATION_TABLE} (name, timestamp) values (?, ?)`).run('9999_from_the_future', new Date().toISOString());
    });
    await rejectsWith(openSqlite({ path }), 'INVALID', /newer BuildGrid.*9999_from_the_future/);
    await withRaw(path, async (_raw, db) => {
      assert.deepEqual((await schemaStatus(db)).unknown, ['9999_from_the_future']);
    });
  });

  test('a failing migration rolls back the whole batch', async () => {
    const raw = new BetterSqlite3(':memory:');
    const db = sqliteKysely(raw);
    try {
      const broken = {
        ...MIGRATIONS,
        '9000_broken': {
          async up(k: Kysely<any>) {
            await k.schema.createTable('half_done').addColumn('x', 'text').execute();
            throw new Error('boom');
          },
        },
      };
      await rejectsWith(migrateToLatest(db, broken), 'INTERNAL', /9000_broken failed: boom/);
      const tables = raw.prepare(`select name from sqlite_master where type = 'table'`).all() as { name: string }[];
      assert.deepEqual(tables.map((t) => t.name).filter((t) => !t.startsWith('kysely_')), []);
      assert.deepEqual((await schemaStatus(db, broken)).applied, []);
      assert.deepEqual(await migrateToLatest(db), Object.keys(MIGRATIONS).sort());
      assert.deepEqual(await migrateToLatest(db), []);
    } finally {
      await db.destroy();
    }
  });

  test('an unopenable path or unknown kind is INVALID', async () => {
    await rejectsWith(openSqlite({ path: join(dir, 'no-such-dir', 'x.db') }), 'INVALID', /cannot open the SQLite metadata database/);
    await rejectsWith(openMetadata({ kind: 'mysql' } as unknown as MetadataOptions), 'INVALID', /unknown metadata store kind "mysql"/);
  });

  test('hot-path lookups are one query each, served by an index (never a table scan)', async () => {
    await withRaw(':memory:', async (raw) => {
      const seen: string[] = [];
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }), log: (e) => void seen.push(e.query.sql) });
      await migrateToLatest(db);
      const m = createMetadata(db);
      const r = await m.repositories.ensure('acme/a');
      const d = digestOf('1');
      const planOf = async (call: () => Promise<unknown>, params: unknown[]): Promise<string> => {
        seen.length = 0;
        await call();
        assert.equal(seen.length, 1, `one query, got: ${seen.join(' | ')}`);
        const rows = raw.prepare(`explain query plan ${seen[0]}`).all(...params) as { detail: string }[];
        return rows.map((row) => row.detail).join('; ');
      };
      const indexed = /^SEARCH \w+ USING (PRIMARY KEY|(COVERING )?INDEX \w+) /;
      assert.match(await planOf(() => m.tags.get(r.id, 'latest'), [r.id, 'latest']), indexed);
      assert.match(await planOf(() => m.manifests.get(r.id, d), [r.id, d]), indexed);
      assert.match(await planOf(() => m.repositories.get('acme/a'), ['acme/a']), indexed);
      assert.match(await planOf(() => m.repositories.hasBlob(r.id, d), [r.id, d]), indexed);
      const referrers = await planOf(() => m.manifests.referrers(r.id, d, 'x'), [r.id, d, 'x']);
      assert.match(referrers, /USING INDEX manifests_subject/);
      await m.close();
    });
  });
  test('queue, lookup and timeline queries are served by their indexes', async () => {
    await withRaw(':memory:', async (raw) => {
      const seen: { sql: string; parameters: readonly unknown[] }[] = [];
      const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }), log: (e) => void seen.push(e.query) });
      await migrateToLatest(db);
      const m = createMetadata(db);
      const s = await seed(m);
      await m.builds.create(buildInput(s));
      /** The plan of the first query `call` runs whose SQL matches `pick`. */
      const planOf = async (call: () => Promise<unknown>, pick: RegExp): Promise<string> => {
        seen.length = 0;
        await call();
        const q = seen.find((x) => pick.test(x.sql));
        assert.ok(q, `no query matching ${pick} in: ${seen.map((x) => x.sql).join(' | ')}`);
        const rows = raw.prepare(`explain query plan ${q.sql}`).all(...q.parameters) as { detail: string }[];
        return rows.map((row) => row.detail).join('; ');
      };
      const select = /^select .* from "builds" where "status" = \?/;
      assert.match(await planOf(() => m.builds.claim('w1'), select), /USING (COVERING )?INDEX builds_claim/);
      assert.doesNotMatch(await planOf(() => m.builds.claim('w1'), select), /TEMP B-TREE/, 'no sort: the index is in claim order');
      assert.match(await planOf(() => m.builds.reclaimStale(new Date().toISOString(), 'x'), /^select/), /USING INDEX builds_claim/);
      assert.match(await planOf(() => m.builds.findSucceeded(s.api.id, commitOf('a')), /^select/), /USING INDEX builds_service_commit/);
      const active = await planOf(() => m.builds.findActive(s.api.id, commitOf('a'), 'main'), /^select/);
      assert.match(active, /USING INDEX builds_active/);
      assert.doesNotMatch(active, /TEMP B-TREE/);
      assert.match(await planOf(() => m.builds.list({ applicationId: s.applicationId, limit: 10 }), /^select/), /USING INDEX builds_application_created/);
      assert.match(await planOf(() => m.events.list({ afterSeq: 0, applicationId: s.applicationId, limit: 10 }), /^select/), /USING (COVERING )?INDEX events_application/);
      assert.match(await planOf(() => m.events.list({ afterSeq: 0, accountId: s.accountId, limit: 10 }), /^select/), /USING (COVERING )?INDEX events_account/);
      assert.match(await planOf(() => m.deployments.listRunning(), /^select/), /USING INDEX deployments_running/);
      await m.close();
    });
  });

  test('two stores on one file in this process write concurrently without SQLITE_BUSY', async () => {
    const path = freshPath();
    const a = await openSqlite({ path });
    const b = await openSqlite({ path });
    try {
      const r = await a.repositories.ensure('acme/a');
      const put = (m: typeof a, i: number) => m.manifests.put({
        repositoryId: r.id, digest: digestOf(i.toString(16)), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1,
        artifactType: null, subject: null, annotations: null, blobs: [digestOf('f')], children: [],
      });
      const started = Date.now();
      await Promise.all(Array.from({ length: 8 }, (_, i) => put(i % 2 ? a : b, i)));
      assert.ok(Date.now() - started < 2000, 'no busy-timeout wait');
      assert.notEqual(await b.manifests.get(r.id, digestOf('7')), null);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
