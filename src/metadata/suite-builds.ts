import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildInput, commitOf, queueBuilds, seed, tick } from './suite-fixtures.ts';
import { digestOf, rejectsWith, withStore, type OpenStore } from './suite-helpers.ts';
import type { Metadata } from './types.ts';

/** Contract tests for builds as records: create, get, list, update and the lookups that deduplicate builds. */
export function buildsSuite(open: OpenStore): void {
  const run = (fn: (m: Metadata) => Promise<void>) => () => withStore(open, fn);

  describe('builds', () => {
    test('create starts queued with an open queued phase, attempt 0 and maxAttempts 2', run(async (m) => {
      const s = await seed(m);
      const b = await m.builds.create(buildInput(s, s.api, { commit: commitOf('a'), force: true, trigger: 'hook', triggeredBy: 'github' }));
      assert.deepEqual(b, {
        id: b.id, serviceId: s.api.id, applicationId: s.applicationId, accountId: s.accountId, deploymentId: null,
        status: 'queued', trigger: 'hook', triggeredBy: 'github', branch: 'main', commit: commitOf('a'),
        commitMessage: null, commitAuthor: null, repository: s.api.repository, imageDigest: null, imageId: null,
        imageSize: null, layerCount: null, error: null, phases: [{ name: 'queued', startedAt: b.createdAt, endedAt: null }], baseImages: [],
        attempt: 0, maxAttempts: 2, workerId: null, heartbeatAt: null, cancelRequested: false, force: true,
        rebuildOf: null, createdAt: b.createdAt, startedAt: null, finishedAt: null,
      });
      assert.ok(!Number.isNaN(Date.parse(b.createdAt)));
      assert.deepEqual(await m.builds.get(b.id), b);
      assert.equal(await m.builds.get('nope'), null);
      const d = await m.deployments.create({ applicationId: s.applicationId, accountId: s.accountId, branch: null, trigger: 'web', triggeredBy: 'al', items: [] });
      const r = await m.builds.create(buildInput(s, s.api, { rebuildOf: b.id, deploymentId: d.id, maxAttempts: 5 }));
      assert.deepEqual([r.rebuildOf, r.deploymentId, r.maxAttempts, r.force, r.commit], [b.id, d.id, 5, false, null]);
      assert.deepEqual(await m.builds.get(r.id), r);
    }));
    test('create refuses a bad maxAttempts (INVALID) and missing references (NOT_FOUND)', run(async (m) => {
      const s = await seed(m);
      await rejectsWith(m.builds.create(buildInput(s, s.api, { maxAttempts: 0 })), 'INVALID', /maxAttempts/);
      await rejectsWith(m.builds.create(buildInput(s, s.api, { maxAttempts: 1.5 })), 'INVALID', /maxAttempts/);
      await rejectsWith(m.builds.create(buildInput(s, s.api, { serviceId: 'missing' })), 'NOT_FOUND');
      await rejectsWith(m.builds.create(buildInput(s, s.api, { deploymentId: 'missing' })), 'NOT_FOUND');
      await rejectsWith(m.builds.create(buildInput(s, s.api, { rebuildOf: 'missing' })), 'NOT_FOUND');
      assert.deepEqual(await m.builds.list({ limit: 10 }), []);
    }));
    test('list: newest first, filtered, paged with before (exclusive) and limit', run(async (m) => {
      const s = await seed(m);
      const d = await m.deployments.create({ applicationId: s.applicationId, accountId: s.accountId, branch: null, trigger: 'web', triggeredBy: 'al', items: [] });
      const other = await seed(m, 'beta');
      const made = [];
      for (let i = 0; i < 7; i++) {
        await tick();
        made.push(await m.builds.create(buildInput(s, i % 2 ? s.web : s.api, { deploymentId: i < 3 ? d.id : null })));
      }
      await tick();
      const foreign = await m.builds.create(buildInput(other));
      const newest = [...made].reverse();
      assert.deepEqual(await m.builds.list({ limit: 100 }), [foreign, ...newest]);
      assert.deepEqual(await m.builds.list({ applicationId: s.applicationId, limit: 100 }), newest);
      assert.deepEqual(await m.builds.list({ serviceId: s.web.id, limit: 100 }), newest.filter((b) => b.serviceId === s.web.id));
      assert.deepEqual(await m.builds.list({ deploymentId: d.id, limit: 100 }), newest.filter((b) => b.deploymentId === d.id));
      assert.deepEqual(await m.builds.list({ applicationId: s.applicationId, serviceId: s.api.id, deploymentId: d.id, limit: 100 }), [made[2], made[0]]);
      const pages = [];
      for (let before: string | undefined, page; (page = await m.builds.list({ applicationId: s.applicationId, limit: 3, before })).length > 0; before = page.at(-1)!.id) {
        pages.push(page.map((b) => b.id));
      }
      assert.deepEqual(pages, [newest.slice(0, 3), newest.slice(3, 6), newest.slice(6)].map((p) => p.map((b) => b.id)));
      assert.deepEqual(await m.builds.list({ serviceId: s.api.id, limit: 2, before: made[4]!.id }), [made[2], made[0]]);
      assert.deepEqual(await m.builds.list({ limit: 5, before: 'nope' }), []);
      assert.deepEqual(await m.builds.list({ limit: 0 }), []);
    }));
    test('update without a worker applies the patch unconditionally', run(async (m) => {
      const s = await seed(m);
      const b = await m.builds.create(buildInput(s));
      const patch = {
        status: 'succeeded' as const, commit: commitOf('b'), commitMessage: 'fix: ü', commitAuthor: 'Al <al@example.com>',
        imageDigest: digestOf('1'), imageId: digestOf('2'), imageSize: 5_000_000_000, layerCount: 7, error: null,
        phases: [{ name: 'building' as const, startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:01:00.000Z' }],
        startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T01:00:00+01:00', workerId: 'w9', heartbeatAt: null,
        baseImages: [{ stage: 0, written: '${BASE}', resolved: 'docker.io/library/busybox:1', digest: digestOf('3') }, { stage: 2, written: 'Bad Ref', resolved: null, digest: null }],
      };
      const u = await m.builds.update(b.id, patch);
      assert.deepEqual(u, { ...b, ...patch, finishedAt: '2026-01-01T00:00:00.000Z' });
      assert.deepEqual(await m.builds.get(b.id), u);
      assert.deepEqual(await m.builds.update(b.id, { error: 'late note' }), { ...u, error: 'late note' });
      assert.deepEqual(await m.builds.update(b.id, {}), { ...u, error: 'late note' });
      assert.equal(await m.builds.update('nope', { error: 'x' }), null);
      assert.equal(await m.builds.update('nope', {}), null);
      await rejectsWith(m.builds.update(b.id, { finishedAt: 'yesterday' }), 'INVALID', /finishedAt/);
    }));
    test('findSucceeded: the newest succeeded build of the service at the commit', run(async (m) => {
      const s = await seed(m);
      const c = commitOf('c');
      assert.equal(await m.builds.findSucceeded(s.api.id, c), null);
      const [old, newer, failed, otherCommit] = await queueBuilds(m, s, 4);
      await m.builds.update(old!.id, { status: 'succeeded', commit: c });
      await m.builds.update(newer!.id, { status: 'succeeded', commit: c });
      await m.builds.update(failed!.id, { status: 'failed', commit: c });
      await m.builds.update(otherCommit!.id, { status: 'succeeded', commit: commitOf('d') });
      await m.builds.create(buildInput(s, s.api, { commit: c }));
      const webBuild = await m.builds.create(buildInput(s, s.web, { commit: c }));
      await m.builds.update(webBuild.id, { status: 'succeeded' });
      assert.equal((await m.builds.findSucceeded(s.api.id, c))?.id, newer!.id);
      assert.equal((await m.builds.findSucceeded(s.web.id, c))?.id, webBuild.id);
      assert.equal(await m.builds.findSucceeded(s.api.id, commitOf('e')), null);
    }));
    test('findActive: a queued or running build at the commit, or unresolved on the branch', run(async (m) => {
      const s = await seed(m);
      const c = commitOf('c');
      assert.equal(await m.builds.findActive(s.api.id, c, 'main'), null);
      const done = await m.builds.create(buildInput(s, s.api, { commit: c }));
      await m.builds.update(done.id, { status: 'succeeded' });
      const cancelled = await m.builds.create(buildInput(s, s.api, { branch: 'dev' }));
      await m.builds.requestCancel(cancelled.id);
      await m.builds.create(buildInput(s, s.web, { commit: c }));
      assert.equal(await m.builds.findActive(s.api.id, c, 'main'), null, 'final builds and other services do not count');
      assert.equal(await m.builds.findActive(s.api.id, null, 'dev'), null);

      const byBranch = await m.builds.create(buildInput(s, s.api, { branch: 'dev' }));
      assert.equal((await m.builds.findActive(s.api.id, null, 'dev'))?.id, byBranch.id);
      assert.equal((await m.builds.findActive(s.api.id, c, 'dev'))?.id, byBranch.id, 'an unresolved build of the branch matches');
      assert.equal(await m.builds.findActive(s.api.id, null, 'main'), null);
      assert.equal(await m.builds.findActive(s.api.id, c, 'main'), null);

      await tick();
      const atCommit = await m.builds.create(buildInput(s, s.api, { commit: c, branch: 'main' }));
      assert.equal((await m.builds.findActive(s.api.id, c, 'main'))?.id, atCommit.id);
      assert.equal((await m.builds.findActive(s.api.id, c, 'other'))?.id, atCommit.id, 'the commit matches on any branch');
      assert.equal(await m.builds.findActive(s.api.id, null, 'main'), null, 'a resolved build is not an unresolved one');
      await m.builds.update(byBranch.id, { status: 'building', workerId: 'w1' });
      assert.equal((await m.builds.findActive(s.api.id, null, 'dev'))?.status, 'building', 'running builds count');
      await m.builds.update(byBranch.id, { commit: commitOf('f') }, 'w1');
      assert.equal(await m.builds.findActive(s.api.id, null, 'dev'), null);
      assert.equal((await m.builds.findActive(s.api.id, commitOf('f'), 'dev'))?.id, byBranch.id);
    }));
  });
}
