import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { skipOrFail } from '../../test/harness/require.ts';
import { testPostgres, type TestDatabase } from '../../test/support/postgres.ts';
import { migrateToLatest, schemaStatus, MIGRATIONS, MIGRATION_TABLE } from './index.ts';
import { openPostgres } from './postgres.ts';
import { STALE_PROCESSING_MS } from './hooks.ts';
import { buildInput, fromNow, seed } from './suite-fixtures.ts';
import { digestOf, rejectsWith } from './suite-helpers.ts';
import { lockKeys } from './locking.ts';
import { runMetadataSuite } from './suite.ts';
import type { Metadata } from './types.ts';

// The metadata contract on PostgreSQL: the same suite as SQLite (metadata.test.ts), each test on a fresh database
// copied from a migrated template, plus what only PostgreSQL has (LISTEN/NOTIFY, concurrent migrations, event
// ordering across connections).

const server = await testPostgres();

if ('skip' in server) {
  const why = server.skip;
  test('metadata contract: postgres', (t) => skipOrFail(t, 'postgres', why));
} else {
  after(() => server.stop());
  const template = await server.createDatabase();
  await (await openPostgres({ url: template.url })).close();

  /** Wraps close() so the store's database is dropped once every store over it is closed (close stays idempotent). */
  const dropWhenClosed = (stores: Metadata[], db: TestDatabase): Metadata[] => {
    let open = stores.length;
    return stores.map((m) => {
      let closing: Promise<void> | null = null;
      return {
        ...m,
        close() {
          closing ??= m.close().then(async () => {
            if (--open === 0) await db.drop();
          });
          return closing;
        },
      };
    });
  };
  // Each test gets its own database, copied from the migrated template; the next one is made while a test runs.
  let next = server.createDatabase(template.name);
  const fresh = () => {
    const db = next;
    next = server.createDatabase(template.name);
    return db;
  };

  runMetadataSuite(`postgres (${server.source})`, async () => {
    const db = await fresh();
    return dropWhenClosed([await openPostgres({ url: db.url })], db)[0]!;
  }, {
    async openTwins() {
      const db = await fresh();
      const [a, b] = dropWhenClosed([await openPostgres({ url: db.url }), await openPostgres({ url: db.url })], db);
      return [a!, b!];
    },
  });

  /** A raw Kysely over `url` (no migration), destroyed after fn. */
  const withKysely = async <T>(url: string, fn: (db: Kysely<any>) => Promise<T>): Promise<T> => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    pool.on('error', () => undefined);
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    try {
      return await fn(db);
    } finally {
      await db.destroy();
    }
  };

  describe('postgres store', () => {
    test('concurrent first starts on an empty database migrate once; reopening migrates nothing', async () => {
      const db = await server.createDatabase();
      try {
        const applied: string[][] = [];
        const stores = await Promise.all([1, 2, 3].map(() => openPostgres({ url: db.url, onMigrated: (a) => applied.push(a) })));
        assert.deepEqual(applied.flat().sort(), Object.keys(MIGRATIONS).sort(), 'each migration applied exactly once');
        const acme = await stores[0]!.accounts.create({ name: 'Acme', namespace: 'acme' });
        assert.deepEqual(await stores[2]!.accounts.get(acme.id), acme);
        await Promise.all(stores.map((m) => m.close()));
        let again: string[] | null = null;
        await (await openPostgres({ url: db.url, onMigrated: (a) => (again = a) })).close();
        assert.deepEqual(again, []);
        await withKysely(db.url, async (k) => {
          const status = await schemaStatus(k);
          assert.deepEqual(status.applied, Object.keys(MIGRATIONS).sort());
          assert.deepEqual([status.pending, status.unknown], [[], []]);
        });
      } finally {
        await db.drop();
      }
    });

    test('refuses a database migrated by a newer BuildGrid, and leaves it untouched', async () => {
      const db = await fresh();
      try {
        await withKysely(db.url, (k) =>
          k.insertInto(MIGRATION_TABLE).values({ name: '9999_from_the_future', timestamp: new Date().toISOString() }).execute());
        await rejectsWith(openPostgres({ url: db.url }), 'INVALID', /newer BuildGrid.*9999_from_the_future/);
        await withKysely(db.url, async (k) => assert.deepEqual((await schemaStatus(k)).unknown, ['9999_from_the_future']));
      } finally {
        await db.drop();
      }
    });

    test('a failing migration rolls back the whole batch', async () => {
      const db = await server.createDatabase();
      try {
        await withKysely(db.url, async (k) => {
          const broken = {
            ...MIGRATIONS,
            '9000_broken': {
              async up(x: Kysely<any>) {
                await x.schema.createTable('half_done').addColumn('x', 'text').execute();
                throw new Error('boom');
              },
            },
          };
          await rejectsWith(migrateToLatest(k, broken), 'INTERNAL', /9000_broken failed: boom/);
          const tables = await k.introspection.getTables();
          assert.deepEqual(tables.map((t) => t.name), []);
          assert.deepEqual(await migrateToLatest(k), Object.keys(MIGRATIONS).sort());
        });
      } finally {
        await db.drop();
      }
    });

    test('an unreachable server or a refused login is INVALID, and the password is never shown', async () => {
      await rejectsWith(openPostgres({ url: 'postgres://bg:s3cret@127.0.0.1:1/nothing' }), 'INVALID',
        /^cannot connect to the PostgreSQL metadata database at postgres:\/\/bg@127\.0\.0\.1:1\/nothing: .*ECONNREFUSED/);
      const u = new URL(template.url);
      u.pathname = '/no_such_database_here';
      u.password = 'hunter2';
      await assert.rejects(openPostgres({ url: u.toString() }), (err: Error) => {
        assert.match(err.message, /no_such_database_here.*does not exist/);
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      });
    });

    test('onBuildQueued wakes a listener on another store when a build is queued or requeued', async () => {
      const db = await fresh();
      const [a, b] = dropWhenClosed([await openPostgres({ url: db.url }), await openPostgres({ url: db.url })], db);
      try {
        let wakes = 0;
        let wake: () => void = () => undefined;
        const off = b!.onBuildQueued!(() => { wakes++; wake(); });
        const woken = (ms: number) => new Promise<boolean>((resolve) => {
          const t = setTimeout(() => resolve(false), ms);
          wake = () => { clearTimeout(t); resolve(true); };
        });
        const s = await seed(a!);
        // The listener connects in the background: queue builds until one wakes it (bounded).
        let first = false;
        for (let i = 0; i < 50 && !first; i++) {
          const w = woken(200);
          await a!.builds.create(buildInput(s));
          first = await w;
        }
        assert.ok(first, 'a build queued on store A woke the listener on store B');
        // Drain the queue, then make one claim go stale: the requeue wakes the listener too.
        while (await a!.builds.claim('drain')) { /* claim everything */ }
        const w = woken(5_000);
        const changed = await a!.builds.reclaimStale(fromNow(60_000), 'lost');
        assert.ok(changed.some((x) => x.status === 'queued'));
        assert.equal(await w, true, 'a requeue wakes the listener');
        off();
        const before = wakes;
        await a!.builds.create(buildInput(s));
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(wakes, before, 'no wake-ups after unsubscribing');
      } finally {
        await a!.close();
        await b!.close();
      }
    });

    test('a reader following "after seq N" never skips an event whose append commits late', async () => {
      const db = await fresh();
      const [a, b] = dropWhenClosed([await openPostgres({ url: db.url }), await openPostgres({ url: db.url })], db);
      try {
        const s = await seed(a!);
        // A trigger makes the append of payload "slow" take 400 ms between taking its seq and committing: the
        // window in which, without serialized appends, a later append could commit first with a higher seq.
        await withKysely(db.url, async (k) => {
          await sql`create function bg_slow() returns trigger language plpgsql as $$
            begin if new.payload = '"slow"' then perform pg_sleep(0.4); end if; return new; end $$`.execute(k);
          await sql`create trigger bg_slow after insert on events for each row execute function bg_slow()`.execute(k);
        });
        const seen: number[] = [];
        let stop = false;
        const follower = (async () => {
          for (let after = 0; ;) {
            const last = stop;
            const page = await b!.events.list({ afterSeq: after, limit: 100 });
            for (const e of page) seen.push(e.seq);
            if (page.length) after = page.at(-1)!.seq;
            else if (last) return;
            await new Promise((r) => setTimeout(r, 5));
          }
        })();
        const slow = a!.events.append({ accountId: s.accountId, applicationId: null, kind: 'k', payload: 'slow' });
        await new Promise((r) => setTimeout(r, 100));
        const fast = await Promise.all([1, 2, 3].map((i) =>
          b!.events.append({ accountId: s.accountId, applicationId: null, kind: 'k', payload: i })));
        const stored = [await slow, ...fast];
        stop = true;
        await follower;
        assert.deepEqual(seen, stored.map((e) => e.seq).sort((x, y) => x - y), 'the follower saw every event, in order, once');
        assert.ok(stored[0]!.seq < stored[1]!.seq, 'the first append got the lowest seq');
      } finally {
        await a!.close();
        await b!.close();
      }
    });

    test('per-digest locks: touch, claimLinks and linkBlob wait while a sweep holds the digest, other digests do not', async () => {
      const db = await fresh();
      const [m] = dropWhenClosed([await openPostgres({ url: db.url })], db);
      try {
        const r = await m!.repositories.ensure('acme/a');
        const [d, other] = [digestOf('a'), digestOf('b')];
        await withKysely(db.url, async (k) => {
          let release!: () => void;
          const held = new Promise<void>((res) => (release = res));
          let locked!: () => void;
          const isLocked = new Promise<void>((res) => (locked = res));
          const sweep = k.transaction().execute(async (trx) => {
            await lockKeys(trx, [other, d]);
            locked();
            await held;
          });
          await isLocked;
          await m!.repositories.linkBlob(r.id, digestOf('c')); // another digest: no wait
          let done = false;
          const waiting = Promise.all([
            m!.lifecycle.gc.touch([d]), m!.repositories.linkBlob(r.id, d), m!.lifecycle.gc.claimLinks(r.id, [d]),
          ]).then(() => (done = true));
          await new Promise((res) => setTimeout(res, 300));
          const blocked = !done;
          release();
          await sweep;
          await waiting;
          assert.ok(blocked, 'blocked while the sweep transaction holds the digest');
          assert.ok(await m!.repositories.hasBlob(r.id, d));
        });
      } finally {
        await m!.close();
      }
    });

    test('a hook delivery still processing after STALE_PROCESSING_MS is taken over by one redelivery (as on SQLite)', async () => {
      const db = await fresh();
      const [m] = dropWhenClosed([await openPostgres({ url: db.url })], db);
      try {
        const s = await seed(m!);
        const hook = await m!.hooks.ensure({ id: 'h', applicationId: s.applicationId, accountId: s.accountId, secretEnc: 'e' });
        const input = { hookId: hook.id, applicationId: s.applicationId, provider: 'github' as const, event: 'push', deliveryKey: 'github:k1', branch: 'main', commit: null };
        const first = await m!.hooks.startDelivery(input);
        assert.equal((await m!.hooks.startDelivery(input)).duplicate, true, 'processing and fresh');
        const old = new Date(Date.now() - STALE_PROCESSING_MS - 1000).toISOString();
        await withKysely(db.url, (k) => k.updateTable('hook_deliveries').set({ updated_at: old }).where('id', '=', first.delivery.id).execute());
        const takeover = await Promise.all([1, 2, 3].map(() => m!.hooks.startDelivery(input)));
        assert.equal(takeover.filter((r) => !r.duplicate).length, 1);
        assert.equal(takeover.find((r) => !r.duplicate)!.delivery.id, first.delivery.id);
      } finally {
        await m!.close();
      }
    });

    test('names listed with pagination compare bytewise (COLLATE "C"), as on SQLite', async () => {
      const db = await fresh();
      const [m] = dropWhenClosed([await openPostgres({ url: db.url })], db);
      try {
        // Bytewise: '-' (0x2d) < '.' (0x2e) < digits < '_' (0x5f) < letters. A locale collation would ignore the
        // punctuation and interleave these.
        const names = ['acme/ab', 'acme/a_b', 'acme/a.b', 'acme/a-b', 'acme/a0', 'acme/b'];
        for (const name of names) await m!.repositories.ensure(name);
        assert.deepEqual(await m!.repositories.list({ limit: 10, namespaces: null }), ['acme/a-b', 'acme/a.b', 'acme/a0', 'acme/a_b', 'acme/ab', 'acme/b']);
        assert.deepEqual(await m!.repositories.list({ limit: 2, last: 'acme/a.b', namespaces: null }), ['acme/a0', 'acme/a_b']);
        await withKysely(db.url, async (k) => {
          const { rows } = await sql<{ c: string }>`select collation_name as c from information_schema.columns where table_name = 'repositories' and column_name = 'name'`.execute(k);
          assert.equal(rows[0]?.c, 'C');
        });
      } finally {
        await m!.close();
      }
    });
  });
}
