import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { isAppError } from '../core/errors.ts';
import { createMetadata, migrateToLatest, type Database, type Metadata } from './index.ts';
import { STALE_PROCESSING_MS } from './hooks.ts';

// Contract of the hook, poll and notification repositories (migration 0003) on SQLite, with raw access for plans.
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

test('ensure creates one hook per application, even when racing; failures are counted atomically', async () => {
  const { m } = await open();
  const { account, app } = await seedApp(m);
  const hooks = await Promise.all(['h1', 'h2', 'h3'].map((id) => m.hooks.ensure({ id, applicationId: app.id, accountId: account.id, secretEnc: `enc-${id}` })));
  assert.equal(new Set(hooks.map((h) => h.id)).size, 1);
  const h = hooks[0]!;
  assert.deepEqual(await m.hooks.getByApplication(app.id), h);
  await Promise.all([1, 2, 3].map((i) => m.hooks.recordAuthFailure(h.id, `bad ${i}`)));
  const after = (await m.hooks.get(h.id))!;
  assert.equal(after.failedAuthCount, 3);
  assert.match(after.lastFailedAuthReason!, /^bad \d$/);
  const rotated = await m.hooks.rotate(h.id, 'enc-new');
  assert.equal(rotated.secretEnc, 'enc-new');
  assert.ok(rotated.rotatedAt);
  await assert.rejects(m.hooks.rotate('nope', 'x'), (err) => isAppError(err, 'NOT_FOUND'));
  await assert.rejects(m.hooks.ensure({ id: 'x', applicationId: 'missing', accountId: account.id, secretEnc: 'e' }), (err) => isAppError(err, 'NOT_FOUND'));
  assert.equal(await m.hooks.get('nope'), null);
  await m.close();
});

test('a delivery key is handled once; errors and abandoned deliveries are taken over by a redelivery', async () => {
  const { m, db } = await open();
  const { account, app } = await seedApp(m);
  const hook = await m.hooks.ensure({ id: 'h', applicationId: app.id, accountId: account.id, secretEnc: 'e' });
  const input = (deliveryKey: string | null) => ({ hookId: hook.id, applicationId: app.id, provider: 'github' as const, event: 'push', deliveryKey, branch: 'main', commit: null });
  const racing = await Promise.all([1, 2, 3, 4, 5].map(() => m.hooks.startDelivery(input('github:k1'))));
  assert.equal(racing.filter((r) => !r.duplicate).length, 1);
  const first = racing.find((r) => !r.duplicate)!.delivery;
  assert.ok(racing.every((r) => r.delivery.id === first.id));
  assert.ok((await m.hooks.get(hook.id))!.lastDeliveryAt);
  // Without a key nothing is deduplicated.
  const a = await m.hooks.startDelivery(input(null));
  const b = await m.hooks.startDelivery(input(null));
  assert.equal(a.duplicate || b.duplicate, false);
  // Finished: a duplicate. Errored: taken over once.
  await m.hooks.finishDelivery(first.id, { status: 'accepted', message: 'built', deploymentId: null });
  assert.equal((await m.hooks.startDelivery(input('github:k1'))).duplicate, true);
  await m.hooks.finishDelivery(first.id, { status: 'error', message: 'git host down' });
  const retries = await Promise.all([1, 2, 3].map(() => m.hooks.startDelivery(input('github:k1'))));
  assert.equal(retries.filter((r) => !r.duplicate).length, 1);
  assert.equal(retries.find((r) => !r.duplicate)!.delivery.id, first.id);
  // Still processing: a duplicate, until it is old enough to be called abandoned.
  assert.equal((await m.hooks.startDelivery(input('github:k1'))).duplicate, true);
  const old = new Date(Date.now() - STALE_PROCESSING_MS - 1000).toISOString();
  await db.updateTable('hook_deliveries').set({ updated_at: old }).where('id', '=', first.id).execute();
  assert.equal((await m.hooks.startDelivery(input('github:k1'))).duplicate, false);
  const list = await m.hooks.listDeliveries(hook.id, 10);
  assert.equal(list.length, 3);
  assert.equal(await m.hooks.pruneDeliveries(new Date(Date.now() + 1000).toISOString()), 3);
  await m.close();
});

test('polls: one claim per turn; a deleted service is not claimed', async () => {
  const { m } = await open();
  const { app } = await seedApp(m);
  const s = await m.services.create({
    applicationId: app.id, name: 'web', gitUrl: 'https://git.example.com/w.git', branch: 'main', dockerfile: 'Dockerfile', context: '.',
    buildArgs: {}, repository: 'acme/shop.w', gitAuth: { kind: 'none' }, pollIntervalSeconds: 60,
  });
  const now = new Date().toISOString();
  const due = new Date(Date.now() - 60_000).toISOString();
  const claims = await Promise.all([1, 2, 3].map(() => m.polls.claim(s.id, due, now)));
  assert.equal(claims.filter(Boolean).length, 1);
  assert.equal(await m.polls.claim(s.id, due, now), null, 'not due');
  await m.polls.record(s.id, { lastCommit: 'a'.repeat(40), lastError: null });
  assert.equal((await m.polls.get(s.id))!.lastCommit, 'a'.repeat(40));
  await m.services.delete(s.id);
  assert.equal(await m.polls.get(s.id), null, 'cascades with the service');
  assert.equal(await m.polls.claim(s.id, due, now), null);
  await m.close();
});

test('notification queue: leases keep a delivery to one worker until they expire; due lookups use the partial index', async () => {
  const { m, raw, seen } = await open();
  const { account } = await seedApp(m);
  const e = await m.notifications.createEndpoint({ id: 'e1', accountId: account.id, url: 'http://x', events: ['build.failed'], secretEnc: 's', description: null, createdBy: 'a' });
  const d = await m.notifications.enqueue({ endpointId: e.id, accountId: account.id, event: 'build.failed', eventSeq: 7, payload: '{}', maxAttempts: 3, redeliveryOf: null });
  const now = new Date().toISOString();
  const lease = new Date(Date.now() + 60_000).toISOString();
  const takes = await Promise.all([1, 2, 3].map(() => m.notifications.claimDue(now, lease, 10)));
  assert.equal(takes.flat().length, 1);
  assert.deepEqual(await m.notifications.claimDue(now, lease, 10), [], 'leased');
  assert.equal(await m.notifications.nextDueAt(), lease);
  const later = new Date(Date.now() + 61_000).toISOString();
  assert.equal((await m.notifications.claimDue(later, new Date(Date.now() + 120_000).toISOString(), 10)).length, 1, 'the lease expired');
  const r = await m.notifications.recordAttempt(d.id, { startedAt: now, durationMs: 3, statusCode: 502, error: 'HTTP 502', headers: { server: 'gw', 'content-type': 'text/plain' } }, { status: 'pending', nextAttemptAt: now });
  assert.equal(r!.attemptCount, 1);
  assert.deepEqual(r!.attempts.map((a) => [a.n, a.statusCode, a.headers]), [[1, 502, { server: 'gw', 'content-type': 'text/plain' }]]);
  const done = await m.notifications.recordAttempt(d.id, { startedAt: now, durationMs: 3, statusCode: 200, error: null, headers: null }, { status: 'succeeded', nextAttemptAt: null });
  assert.equal(done!.status, 'succeeded');
  assert.ok(done!.completedAt);
  assert.equal(done!.nextAttemptAt, null);
  assert.equal(await m.notifications.recordAttempt('gone', { startedAt: now, durationMs: 1, statusCode: 200, error: null, headers: null }, { status: 'succeeded', nextAttemptAt: null }), null);

  for (const [call, index] of [[() => m.notifications.claimDue(now, lease, 10), 'notification_deliveries_due'], [() => m.notifications.nextDueAt(), 'notification_deliveries_due']] as const) {
    seen.length = 0;
    await call();
    const q = seen[0]!;
    const plan = (raw.prepare(`explain query plan ${q.sql}`).all(...q.parameters) as { detail: string }[]).map((p) => p.detail).join('; ');
    assert.match(plan, new RegExp(`USING (COVERING )?INDEX ${index}`), plan);
  }
  await m.notifications.deleteEndpoint(e.id);
  assert.equal(await m.notifications.getDelivery(d.id), null, 'deliveries go with their endpoint');
  await m.close();
});
