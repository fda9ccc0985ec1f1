import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fromNow, seed, tick } from './suite-fixtures.ts';
import { digestOf, rejectsWith, withStore, type OpenStore } from './suite-helpers.ts';
import type { Metadata, RemoveInput } from './types.ts';

const IMAGE = 'application/vnd.oci.image.manifest.v1+json';

/**
 * Contract of the lifecycle repositories (retention policies, the image trash, last pulls, lifecycle runs), run on
 * every backend. The collector's locking against pushes is in postgres.test.ts and test/lifecycle/.
 */
export function lifecycleSuite(open: OpenStore): void {
  const run = (fn: (m: Metadata) => Promise<void>) => () => withStore(open, fn);

  describe('lifecycle', () => {
    test('policies: the account default and an application\'s own are separate rows; set replaces; unknown account refused', run(async (m) => {
      const s = await seed(m);
      const base = { accountId: s.accountId, keepLastPerBranch: 5, keepNewerThanDays: null, keepPulledWithinDays: 30, graceDays: 7, enabled: true, updatedBy: 'owner' };
      assert.equal(await m.lifecycle.policies.get(s.accountId, null), null);
      const def = await m.lifecycle.policies.set({ ...base, applicationId: null });
      const own = await m.lifecycle.policies.set({ ...base, applicationId: s.applicationId, keepLastPerBranch: null, keepNewerThanDays: 14, enabled: false });
      assert.deepEqual(await m.lifecycle.policies.get(s.accountId, null), def);
      assert.deepEqual(await m.lifecycle.policies.get(s.accountId, s.applicationId), own);
      assert.equal(own.enabled, false);
      const replaced = await m.lifecycle.policies.set({ ...base, applicationId: null, graceDays: 1, updatedBy: 'other' });
      assert.deepEqual(await m.lifecycle.policies.get(s.accountId, null), replaced);
      assert.equal(replaced.graceDays, 1);
      assert.deepEqual((await m.lifecycle.policies.list(s.accountId)).map((p) => p.applicationId).sort(), [null, s.applicationId].sort());
      const other = await seed(m, 'globex');
      await m.lifecycle.policies.set({ ...base, accountId: other.accountId, applicationId: null });
      assert.equal((await m.lifecycle.policies.list()).length, 3);
      assert.equal((await m.lifecycle.policies.list(other.accountId)).length, 1);
      await rejectsWith(m.lifecycle.policies.set({ ...base, accountId: 'missing', applicationId: null }), 'NOT_FOUND');
      assert.equal(await m.lifecycle.policies.delete(s.accountId, s.applicationId), true);
      assert.equal(await m.lifecycle.policies.delete(s.accountId, s.applicationId), false);
      assert.equal(await m.lifecycle.policies.get(s.accountId, s.applicationId), null);
      assert.deepEqual(await m.lifecycle.policies.get(s.accountId, null), replaced, 'the default stays');
    }));

    test('runs: one at a time; a stale one is failed by the next start; finish only once; newest first', run(async (m) => {
      const input = { kind: 'gc' as const, trigger: 'cli', requestedBy: 'admin', dryRun: true, options: { limit: 3 } };
      const a = await m.lifecycle.runs.start(input, fromNow(-60_000));
      assert.deepEqual([a.status, a.kind, a.dryRun, a.options, a.finishedAt], ['running', 'gc', true, { limit: 3 }, null]);
      await rejectsWith(m.lifecycle.runs.start({ ...input, kind: 'fsck' }, fromNow(-60_000)), 'CONFLICT', new RegExp(`a gc run \\(${a.id}, started .*\\) is in progress`));
      const racing = await Promise.allSettled([1, 2, 3].map(() => m.lifecycle.runs.start(input, fromNow(-60_000))));
      assert.ok(racing.every((r) => r.status === 'rejected'), 'no second run while one is live');
      // Its heartbeat is older than "staleBefore" (its process died): the next start fails it and goes ahead.
      await tick(); // so b's startedAt is later than a's (list is newest first, to the millisecond)
      const b = await m.lifecycle.runs.start({ ...input, kind: 'retention', dryRun: false }, fromNow(1000));
      const stale = (await m.lifecycle.runs.get(a.id))!;
      assert.equal(stale.status, 'failed');
      assert.match(stale.error!, /^interrupted/);
      assert.equal(await m.lifecycle.runs.finish(a.id, { status: 'succeeded', summary: null, report: null, error: null }), null, 'not running any more');
      await m.lifecycle.runs.heartbeat(b.id);
      const done = await m.lifecycle.runs.finish(b.id, { status: 'succeeded', summary: { removed: 2 }, report: { removed: ['x', 'y'] }, error: null });
      assert.deepEqual([done!.status, done!.summary], ['succeeded', { removed: 2 }]);
      assert.ok(done!.finishedAt);
      assert.deepEqual(await m.lifecycle.runs.report(b.id), { removed: ['x', 'y'] });
      assert.equal(await m.lifecycle.runs.report('missing'), null);
      assert.equal(await m.lifecycle.runs.finish(b.id, { status: 'failed', summary: null, report: null, error: 'late' }), null);
      assert.deepEqual((await m.lifecycle.runs.list({ limit: 10 })).map((r) => r.id), [b.id, a.id]);
      assert.deepEqual((await m.lifecycle.runs.list({ kind: 'gc', limit: 10 })).map((r) => r.id), [a.id]);
      assert.deepEqual(await m.lifecycle.runs.list({ limit: 0 }), []);
      const c = await m.lifecycle.runs.start(input, fromNow(-60_000));
      assert.equal(await m.lifecycle.runs.interrupt(fromNow(-60_000)), 0, 'a live run is not interrupted');
      assert.equal(await m.lifecycle.runs.interrupt(fromNow(1000)), 1);
      assert.equal((await m.lifecycle.runs.get(c.id))!.status, 'failed');
    }));

    test('pulls: the latest time per repository and digest is kept, whatever order batches arrive in', run(async (m) => {
      const r = await m.repositories.ensure('acme/a');
      const gone = await m.repositories.ensure('acme/gone');
      const [d1, d2] = [digestOf('1'), digestOf('2')];
      const t = (ms: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + ms).toISOString();
      await m.lifecycle.pulls.record([{ repositoryId: r.id, digest: d1, at: t(2000) }, { repositoryId: r.id, digest: d1, at: t(1000) }, { repositoryId: r.id, digest: d2, at: t(500) }]);
      await m.lifecycle.pulls.record([{ repositoryId: r.id, digest: d1, at: t(1500) }, { repositoryId: 'missing-repo', digest: d1, at: t(9000) }]);
      const last = await m.lifecycle.pulls.lastPulled([r.id, gone.id]);
      assert.deepEqual(last.map((p) => [p.digest, p.pulledAt]).sort(), [[d1, t(2000)], [d2, t(500)]]);
      assert.deepEqual(await m.lifecycle.pulls.lastPulled([]), []);
    }));

    test('trash: remove takes the tags and manifest out at once; restore puts them back once; purge ends restoring', run(async (m) => {
      const s = await seed(m);
      const r = await m.repositories.ensure('acme/shop.api');
      const d = digestOf('a');
      await m.manifests.put({ repositoryId: r.id, digest: d, mediaType: IMAGE, size: 10, artifactType: null, subject: null, annotations: null, blobs: [digestOf('c')], children: [] });
      await m.tags.set(r.id, 'v1', d);
      await m.tags.set(r.id, 'latest', d);
      const input: RemoveInput = {
        accountId: s.accountId, applicationId: s.applicationId, repositoryId: r.id, repository: 'acme/shop.api', digest: d,
        cascade: [], buildIds: [], reason: 'manual', removedBy: 'owner', graceMs: 60_000, bytes: 10, guard: null,
      };
      const removed = await m.lifecycle.trash.remove(input);
      assert.ok(removed.ok);
      const e = removed.entry;
      assert.deepEqual([e.state, e.digest, e.tags.map((t) => t.name).sort()], ['removed', d, ['latest', 'v1']]);
      assert.equal(await m.manifests.get(r.id, d), null);
      assert.deepEqual([await m.tags.get(r.id, 'v1'), await m.tags.get(r.id, 'latest')], [null, null]);
      assert.equal((await m.lifecycle.trash.remove(input)).ok, false, 'the image is gone already');
      assert.deepEqual((await m.lifecycle.trash.list({ accountId: s.accountId, state: 'removed', limit: 10 })).map((x) => x.id), [e.id]);

      const back = await m.lifecycle.trash.restore(e.id);
      assert.equal(back.state, 'restored');
      assert.ok(await m.manifests.get(r.id, d));
      assert.equal(await m.tags.get(r.id, 'v1'), d);
      await rejectsWith(m.lifecycle.trash.restore(e.id), 'CONFLICT', /restored already/);
      await rejectsWith(m.lifecycle.trash.restore('missing'), 'NOT_FOUND');
      assert.deepEqual(await m.lifecycle.trash.list({ accountId: s.accountId, state: 'removed', limit: 10 }), []);

      // A tag moved elsewhere meanwhile: the removed image cannot take it back.
      const again = await m.lifecycle.trash.remove(input);
      assert.ok(again.ok);
      await m.manifests.put({ repositoryId: r.id, digest: digestOf('b'), mediaType: IMAGE, size: 10, artifactType: null, subject: null, annotations: null, blobs: [], children: [] });
      await m.tags.set(r.id, 'v1', digestOf('b'));
      await rejectsWith(m.lifecycle.trash.restore(again.entry.id), 'CONFLICT', /now points at/);
      assert.deepEqual(await m.lifecycle.trash.purgeExpired(fromNow(0)), [], 'still inside its grace window');
      const purged = await m.lifecycle.trash.purgeExpired(fromNow(120_000));
      assert.deepEqual(purged.map((x) => x.id), [again.entry.id]);
      assert.equal((await m.lifecycle.trash.get(again.entry.id))!.state, 'purged');
      await rejectsWith(m.lifecycle.trash.restore(again.entry.id), 'CONFLICT', /purged/);
      assert.deepEqual((await m.lifecycle.trash.list({ accountId: s.accountId, state: 'all', limit: 10 })).map((x) => x.state).sort(), ['purged', 'restored']);
    }));

    test('trash: a guard whose tags no longer match skips the removal and leaves the image alone', run(async (m) => {
      const s = await seed(m);
      const r = await m.repositories.ensure('acme/shop.api');
      const d = digestOf('a');
      await m.manifests.put({ repositoryId: r.id, digest: d, mediaType: IMAGE, size: 10, artifactType: null, subject: null, annotations: null, blobs: [], children: [] });
      await m.tags.set(r.id, 'v1', d);
      // Evaluate as retention does (the inventory's view of the tags), then re-tag before the removal.
      const evaluate = async () => ({ tags: (await m.lifecycle.inventory.manifests([r.id]))[0]!.tags, evaluatedAt: fromNow(0), seenDeployments: [] });
      const stale = await evaluate();
      assert.deepEqual(stale.tags.map((t) => t.name), ['v1']);
      await m.tags.set(r.id, 'v2', d);
      const input: RemoveInput = {
        accountId: s.accountId, applicationId: s.applicationId, repositoryId: r.id, repository: 'acme/shop.api', digest: d, cascade: [],
        buildIds: [], reason: 'retention', removedBy: 'retention', graceMs: 0, bytes: 0, guard: stale,
      };
      const skipped = await m.lifecycle.trash.remove(input);
      assert.deepEqual(skipped, { ok: false, reason: 'its tags changed since the policy was evaluated (re-pushed or re-tagged)' });
      assert.ok(await m.manifests.get(r.id, d));
      assert.equal(await m.tags.get(r.id, 'v2'), d);
      assert.deepEqual(await m.lifecycle.trash.list({ state: 'all', limit: 10 }), []);
      // Evaluated afresh, the same removal goes through.
      assert.equal((await m.lifecycle.trash.remove({ ...input, guard: await evaluate() })).ok, true);
      assert.equal(await m.manifests.get(r.id, d), null);
    }));
  });
}
