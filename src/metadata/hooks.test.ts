import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { createMetadata, migrateToLatest, type Database, type Metadata } from './index.ts';
import { STALE_PROCESSING_MS } from './hooks.ts';

// The hook and notification repositories on SQLite with raw access: what the shared contract (suite-hooks.ts, run on
// every backend) cannot do through the Metadata interface — age a row by hand, read a query plan.
async function open(): Promise<{ m: Metadata; raw: BetterSqlite3.Database; db: Kysely<Database>; seen: { sql: string; parameters: readonly unknown[] }[] }> {
  const raw = new BetterSqlite3(':memory:');
  raw.pragma('foreign_keys = ON');
  const seen: { sql: string; parameters: readonly unknown[] }[] = [];
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }), log: (e) => void seen.push(e.query) });
  await migrateToLatest(db);
  return { m: createMetadata(db), raw, db, seen };
}

async function seedApp(m: Metadata) {
  const account = await m.accounts.create({ name: 'acme', namespace: 'acme' });
  const app = await m.applications.create({ accountId: account.id, name: 'Shop', slug: 'shop', env: {} });
  return { account, app };
}

test('a delivery still processing after STALE_PROCESSING_MS is called abandoned and taken over', async () => {
  const { m, db } = await open();
  const { account, app } = await seedApp(m);
  const hook = await m.hooks.ensure({ id: 'h', applicationId: app.id, accountId: account.id, secretEnc: 'e' });
  const input = { hookId: hook.id, applicationId: app.id, provider: 'github' as const, event: 'push', deliveryKey: 'github:k1', branch: 'main', commit: null };
  const first = await m.hooks.startDelivery(input);
  assert.equal((await m.hooks.startDelivery(input)).duplicate, true, 'processing and fresh');
  const old = new Date(Date.now() - STALE_PROCESSING_MS - 1000).toISOString();
  await db.updateTable('hook_deliveries').set({ updated_at: old }).where('id', '=', first.delivery.id).execute();
  const takeover = await Promise.all([1, 2, 3].map(() => m.hooks.startDelivery(input)));
  assert.equal(takeover.filter((r) => !r.duplicate).length, 1);
  assert.equal(takeover.find((r) => !r.duplicate)!.delivery.id, first.delivery.id);
  await m.close();
});

test('due notification lookups use the partial index', async () => {
  const { m, raw, seen } = await open();
  const { account } = await seedApp(m);
  const e = await m.notifications.createEndpoint({ id: 'e1', accountId: account.id, url: 'http://x', events: ['build.failed'], secretEnc: 's', description: null, createdBy: 'a' });
  await m.notifications.enqueue({ endpointId: e.id, accountId: account.id, event: 'build.failed', eventSeq: 7, payload: '{}', maxAttempts: 3, redeliveryOf: null });
  const now = new Date().toISOString();
  const lease = new Date(Date.now() + 60_000).toISOString();
  for (const call of [() => m.notifications.claimDue(now, lease, 10), () => m.notifications.nextDueAt()]) {
    seen.length = 0;
    await call();
    const q = seen[0]!;
    const plan = (raw.prepare(`explain query plan ${q.sql}`).all(...q.parameters) as { detail: string }[]).map((p) => p.detail).join('; ');
    assert.match(plan, /USING (COVERING )?INDEX notification_deliveries_due/, plan);
  }
  await m.close();
});
