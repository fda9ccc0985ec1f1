import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromNow, seed, serviceInput } from './suite-fixtures.ts';
import { rejectsWith, withStore, type OpenStore } from './suite-helpers.ts';
import type { Metadata } from './types.ts';

/**
 * Contract of the inbound hook, poll and outbound notification repositories (migration 0003), run on every backend.
 * What needs the backend's own handles (SQLite query plans, ageing a row by hand) stays in hooks.test.ts.
 */
export function hooksSuite(open: OpenStore): void {
  const run = (fn: (m: Metadata) => Promise<void>) => () => withStore(open, fn);

  describe('hooks', () => {
    test('ensure creates one hook per application, even when racing; auth failures are counted atomically', run(async (m) => {
      const s = await seed(m);
      const hooks = await Promise.all(['h1', 'h2', 'h3'].map((id) => m.hooks.ensure({ id, applicationId: s.applicationId, accountId: s.accountId, secretEnc: `enc-${id}` })));
      assert.equal(new Set(hooks.map((h) => h.id)).size, 1);
      const h = hooks[0]!;
      assert.deepEqual(await m.hooks.getByApplication(s.applicationId), h);
      await Promise.all([1, 2, 3].map((i) => m.hooks.recordAuthFailure(h.id, `bad ${i}`)));
      const after = (await m.hooks.get(h.id))!;
      assert.equal(after.failedAuthCount, 3);
      assert.match(after.lastFailedAuthReason!, /^bad \d$/);
      const rotated = await m.hooks.rotate(h.id, 'enc-new');
      assert.equal(rotated.secretEnc, 'enc-new');
      assert.ok(rotated.rotatedAt);
      assert.deepEqual(await m.hooks.get(h.id), rotated);
      await rejectsWith(m.hooks.rotate('nope', 'x'), 'NOT_FOUND');
      await rejectsWith(m.hooks.ensure({ id: 'x', applicationId: 'missing', accountId: s.accountId, secretEnc: 'e' }), 'NOT_FOUND');
      assert.equal(await m.hooks.get('nope'), null);
      assert.equal(await m.hooks.getByApplication('missing'), null);
    }));

    test('a delivery key is handled once; an errored delivery is taken over by exactly one redelivery', run(async (m) => {
      const s = await seed(m);
      const hook = await m.hooks.ensure({ id: 'h', applicationId: s.applicationId, accountId: s.accountId, secretEnc: 'e' });
      const input = (deliveryKey: string | null) => ({ hookId: hook.id, applicationId: s.applicationId, provider: 'github' as const, event: 'push', deliveryKey, branch: 'main', commit: null });
      const racing = await Promise.all([1, 2, 3, 4, 5].map(() => m.hooks.startDelivery(input('github:k1'))));
      assert.equal(racing.filter((r) => !r.duplicate).length, 1);
      const first = racing.find((r) => !r.duplicate)!.delivery;
      assert.ok(racing.every((r) => r.delivery.id === first.id));
      assert.equal(first.status, 'processing');
      assert.ok((await m.hooks.get(hook.id))!.lastDeliveryAt);
      // Without a key nothing is deduplicated.
      const a = await m.hooks.startDelivery(input(null));
      const b = await m.hooks.startDelivery(input(null));
      assert.equal(a.duplicate || b.duplicate, false);
      assert.notEqual(a.delivery.id, b.delivery.id);
      // Still processing and fresh: a duplicate.
      assert.equal((await m.hooks.startDelivery(input('github:k1'))).duplicate, true);
      // Finished: a duplicate. Errored: taken over once, keeping its id.
      await m.hooks.finishDelivery(first.id, { status: 'accepted', message: 'built', deploymentId: null });
      assert.equal((await m.hooks.startDelivery(input('github:k1'))).duplicate, true);
      await m.hooks.finishDelivery(first.id, { status: 'error', message: 'git host down' });
      const retries = await Promise.all([1, 2, 3].map(() => m.hooks.startDelivery(input('github:k1'))));
      assert.equal(retries.filter((r) => !r.duplicate).length, 1);
      assert.equal(retries.find((r) => !r.duplicate)!.delivery.id, first.id);
      // The same key on another hook is another delivery.
      const other = await seed(m, 'globex');
      const hook2 = await m.hooks.ensure({ id: 'h2', applicationId: other.applicationId, accountId: other.accountId, secretEnc: 'e' });
      assert.equal((await m.hooks.startDelivery({ ...input('github:k1'), hookId: hook2.id, applicationId: other.applicationId })).duplicate, false);

      const list = await m.hooks.listDeliveries(hook.id, 10);
      assert.deepEqual(list.map((d) => d.id).sort(), [first.id, a.delivery.id, b.delivery.id].sort());
      assert.equal((await m.hooks.listDeliveries(hook.id, 1)).length, 1);
      assert.equal(await m.hooks.pruneDeliveries(fromNow(-60_000)), 0, 'nothing older than a minute ago');
      assert.equal(await m.hooks.pruneDeliveries(fromNow(1000)), 4);
      assert.deepEqual(await m.hooks.listDeliveries(hook.id, 10), []);
    }));

    test('polls: one claim per turn, not again until due; a deleted service takes its poll state with it', run(async (m) => {
      const s = await seed(m);
      const svc = await m.services.create(serviceInput(s.applicationId, 'polled', { repository: 'acme/shop.polled', pollIntervalSeconds: 60 }));
      const now = fromNow(0);
      const due = fromNow(-60_000);
      const claims = await Promise.all([1, 2, 3].map(() => m.polls.claim(svc.id, due, now)));
      assert.equal(claims.filter(Boolean).length, 1);
      assert.equal(await m.polls.claim(svc.id, due, now), null, 'not due');
      await m.polls.record(svc.id, { lastCommit: 'a'.repeat(40), lastError: null });
      assert.equal((await m.polls.get(svc.id))!.lastCommit, 'a'.repeat(40));
      assert.ok(await m.polls.claim(svc.id, fromNow(1000), fromNow(1000)), 'due again once the claim is older than the interval');
      await m.services.delete(svc.id);
      assert.equal(await m.polls.get(svc.id), null, 'cascades with the service');
      assert.equal(await m.polls.claim(svc.id, due, now), null);
    }));
  });

  describe('notifications', () => {
    test('leases keep a delivery to one worker until they expire; attempts are recorded in order', run(async (m) => {
      const s = await seed(m);
      const e = await m.notifications.createEndpoint({ id: 'e1', accountId: s.accountId, url: 'http://x', events: ['build.failed'], secretEnc: 's', description: null, createdBy: 'a' });
      const d = await m.notifications.enqueue({ endpointId: e.id, accountId: s.accountId, event: 'build.failed', eventSeq: 7, payload: '{}', maxAttempts: 3, redeliveryOf: null });
      const now = fromNow(0);
      const lease = fromNow(60_000);
      const takes = await Promise.all([1, 2, 3].map(() => m.notifications.claimDue(now, lease, 10)));
      assert.equal(takes.flat().length, 1);
      assert.equal(takes.flat()[0]!.id, d.id);
      assert.deepEqual(await m.notifications.claimDue(now, lease, 10), [], 'leased');
      assert.equal(await m.notifications.nextDueAt(), lease);
      assert.equal((await m.notifications.claimDue(fromNow(61_000), fromNow(120_000), 10)).length, 1, 'the lease expired');
      const r = await m.notifications.recordAttempt(d.id, { startedAt: now, durationMs: 3, statusCode: 502, error: 'HTTP 502', headers: { server: 'gw' } }, { status: 'pending', nextAttemptAt: now });
      assert.equal(r!.attemptCount, 1);
      assert.deepEqual(r!.attempts.map((a) => [a.n, a.statusCode, a.headers]), [[1, 502, { server: 'gw' }]]);
      const done = await m.notifications.recordAttempt(d.id, { startedAt: now, durationMs: 3, statusCode: 200, error: null, headers: null }, { status: 'succeeded', nextAttemptAt: null });
      assert.equal(done!.status, 'succeeded');
      assert.deepEqual(done!.attempts.map((a) => a.n), [1, 2]);
      assert.ok(done!.completedAt);
      assert.equal(done!.nextAttemptAt, null);
      assert.deepEqual(await m.notifications.claimDue(fromNow(600_000), fromNow(700_000), 10), [], 'a finished delivery is never due');
      assert.equal(await m.notifications.recordAttempt('gone', { startedAt: now, durationMs: 1, statusCode: 200, error: null, headers: null }, { status: 'succeeded', nextAttemptAt: null }), null);
      await m.notifications.deleteEndpoint(e.id);
      assert.equal(await m.notifications.getDelivery(d.id), null, 'deliveries go with their endpoint');
    }));

    test('endpoints belong to one account; an unknown account or endpoint is refused', run(async (m) => {
      const s = await seed(m);
      const other = await seed(m, 'globex');
      const e = await m.notifications.createEndpoint({ id: 'e1', accountId: s.accountId, url: 'http://x', events: ['build.failed', 'build.succeeded'], secretEnc: 's', description: 'ops', createdBy: 'a' });
      await m.notifications.createEndpoint({ id: 'e2', accountId: other.accountId, url: 'http://y', events: ['build.failed'], secretEnc: 's', description: null, createdBy: 'b' });
      assert.deepEqual(await m.notifications.getEndpoint(e.id), e);
      assert.deepEqual((await m.notifications.listEndpoints(s.accountId)).map((x) => x.id), ['e1']);
      await rejectsWith(m.notifications.createEndpoint({ id: 'e3', accountId: 'missing', url: 'http://z', events: [], secretEnc: 's', description: null, createdBy: 'a' }), 'NOT_FOUND');
      await rejectsWith(m.notifications.enqueue({ endpointId: 'missing', accountId: s.accountId, event: 'build.failed', eventSeq: 1, payload: '{}', maxAttempts: 1, redeliveryOf: null }), 'NOT_FOUND');
      assert.equal(await m.notifications.getEndpoint('missing'), null);
    }));
  });
}
