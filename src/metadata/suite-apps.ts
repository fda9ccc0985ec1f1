import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildInput, seed, serviceInput, tick } from './suite-fixtures.ts';
import { rejectsWith, withStore, type OpenStore } from './suite-helpers.ts';
import type { DeploymentItem, Metadata } from './types.ts';

/** Contract tests for applications, services, deployments and the event log. */
export function appsSuite(open: OpenStore): void {
  const run = (fn: (m: Metadata) => Promise<void>) => () => withStore(open, fn);

  describe('applications', () => {
    test('create, get, getBySlug, list (by slug, per account), setEnv', run(async (m) => {
      const acme = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
      const beta = await m.accounts.create({ name: 'Beta', namespace: 'beta' });
      const web = await m.applications.create({ accountId: acme.id, name: 'Web Shop', slug: 'web', env: { A: '1', Ü: 'ß' } });
      const api = await m.applications.create({ accountId: acme.id, name: 'API', slug: 'api', env: {} });
      const other = await m.applications.create({ accountId: beta.id, name: 'Web', slug: 'web', env: {} });
      assert.deepEqual({ ...web, id: '', createdAt: '' }, { id: '', accountId: acme.id, name: 'Web Shop', slug: 'web', env: { A: '1', Ü: 'ß' }, createdAt: '' });
      assert.ok(!Number.isNaN(Date.parse(web.createdAt)));
      assert.deepEqual(await m.applications.get(web.id), web);
      assert.deepEqual(await m.applications.getBySlug(acme.id, 'web'), web);
      assert.deepEqual(await m.applications.getBySlug(beta.id, 'web'), other);
      assert.equal(await m.applications.getBySlug(beta.id, 'api'), null);
      assert.equal(await m.applications.get('nope'), null);
      assert.deepEqual(await m.applications.list(acme.id), [api, web]);
      assert.deepEqual(await m.applications.list('nobody'), []);
      const changed = await m.applications.setEnv(web.id, { B: 'two' });
      assert.deepEqual(changed, { ...web, env: { B: 'two' } });
      assert.deepEqual(await m.applications.get(web.id), changed);
      await rejectsWith(m.applications.setEnv('nope', {}), 'NOT_FOUND');
    }));
    test('a taken slug in the account is a CONFLICT; a missing account is NOT_FOUND', run(async (m) => {
      const acme = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
      await m.applications.create({ accountId: acme.id, name: 'Web', slug: 'web', env: {} });
      await rejectsWith(m.applications.create({ accountId: acme.id, name: 'Other', slug: 'web', env: {} }), 'CONFLICT', /slug "web"/);
      await rejectsWith(m.applications.create({ accountId: 'missing', name: 'X', slug: 'x', env: {} }), 'NOT_FOUND');
    }));
  });

  describe('services', () => {
    test('create round-trips every field; get, list (by name), listPolled', run(async (m) => {
      const s = await seed(m);
      const input = serviceInput(s.applicationId, 'worker', {
        branch: 'release/1', dockerfile: 'build/Containerfile', context: 'src', buildArgs: { GO: '1.22' },
        repository: 'acme/shop.worker', gitAuth: { kind: 'ssh', publicKey: 'ssh-ed25519 AAA', privateKeyEnc: 'enc:xyz' },
        pollIntervalSeconds: 60,
      });
      const w = await m.services.create(input);
      assert.deepEqual({ ...w, id: '', createdAt: '' }, { ...input, id: '', createdAt: '' });
      assert.deepEqual(await m.services.get(w.id), w);
      assert.equal(await m.services.get('nope'), null);
      assert.deepEqual((await m.services.list(s.applicationId)).map((x) => x.name), ['api', 'web', 'worker']);
      assert.deepEqual(await m.services.listPolled(), [w]);
      const tok = await m.services.create(serviceInput(s.applicationId, 'tok', { gitAuth: { kind: 'token', username: 'x', tokenEnc: 'enc:1' } }));
      assert.deepEqual((await m.services.get(tok.id))?.gitAuth, { kind: 'token', username: 'x', tokenEnc: 'enc:1' });
    }));
    test('name per application and repository overall are CONFLICTs; a missing application is NOT_FOUND', run(async (m) => {
      const s = await seed(m);
      const app2 = await m.applications.create({ accountId: s.accountId, name: 'Two', slug: 'two', env: {} });
      await rejectsWith(m.services.create(serviceInput(s.applicationId, 'api', { repository: 'acme/shop.api2' })), 'CONFLICT', /named "api"/);
      await rejectsWith(m.services.create(serviceInput(app2.id, 'other', { repository: 'acme/shop.api' })), 'CONFLICT', /repository "acme\/shop.api"/);
      const same = await m.services.create(serviceInput(app2.id, 'api', { repository: 'acme/two.api' }));
      assert.equal(same.name, 'api');
      await rejectsWith(m.services.create(serviceInput('missing', 'x', { repository: 'acme/x.x' })), 'NOT_FOUND');
    }));
    test('update changes the given fields, keeps the rest, and reports conflicts and unknown ids', run(async (m) => {
      const s = await seed(m);
      const changed = await m.services.update(s.api.id, { branch: 'dev', buildArgs: { X: 'y' }, pollIntervalSeconds: 300 });
      assert.deepEqual(changed, { ...s.api, branch: 'dev', buildArgs: { X: 'y' }, pollIntervalSeconds: 300 });
      assert.deepEqual(await m.services.get(s.api.id), changed);
      assert.deepEqual(await m.services.update(s.api.id, {}), changed);
      assert.deepEqual(await m.services.update(s.api.id, { pollIntervalSeconds: null }), { ...changed, pollIntervalSeconds: null });
      await rejectsWith(m.services.update(s.api.id, { name: 'web' }), 'CONFLICT', /named "web"/);
      await rejectsWith(m.services.update(s.api.id, { repository: s.web.repository }), 'CONFLICT', /repository/);
      await rejectsWith(m.services.update('nope', { branch: 'x' }), 'NOT_FOUND');
      await rejectsWith(m.services.update('nope', {}), 'NOT_FOUND');
    }));
    test('delete removes the service and its builds; an unknown id is a no-op', run(async (m) => {
      const s = await seed(m);
      const b = await m.builds.create(buildInput(s));
      const kept = await m.builds.create(buildInput(s, s.web));
      await m.services.delete(s.api.id);
      await m.services.delete(s.api.id);
      assert.equal(await m.services.get(s.api.id), null);
      assert.equal(await m.builds.get(b.id), null);
      assert.deepEqual(await m.builds.get(kept.id), kept);
      assert.deepEqual((await m.services.list(s.applicationId)).map((x) => x.name), ['web']);
    }));
  });

  describe('deployments', () => {
    const item = (buildId: string): DeploymentItem => ({ serviceId: 's', serviceName: 'api', branch: 'main', buildId, commit: null });
    test('create, get, setItems, finish only from running, listRunning', run(async (m) => {
      const s = await seed(m);
      const input = { applicationId: s.applicationId, accountId: s.accountId, branch: 'dev', trigger: 'api' as const, triggeredBy: 'ci', items: [item('b1')] };
      const d = await m.deployments.create(input);
      assert.deepEqual({ ...d, id: '', createdAt: '' }, { ...input, id: '', status: 'running', error: null, createdAt: '', finishedAt: null });
      assert.deepEqual(await m.deployments.get(d.id), d);
      assert.equal(await m.deployments.get('nope'), null);
      await m.deployments.setItems(d.id, [item('b1'), { ...item('b2'), commit: 'c'.repeat(40) }]);
      await m.deployments.setItems('nope', []);
      const withItems = { ...d, items: [item('b1'), { ...item('b2'), commit: 'c'.repeat(40) }] };
      assert.deepEqual(await m.deployments.get(d.id), withItems);
      const other = await m.deployments.create({ ...input, branch: null, items: [] });
      assert.deepEqual((await m.deployments.listRunning()).map((x) => x.id).sort(), [d.id, other.id].sort());
      const done = await m.deployments.finish(d.id, 'failed', 'api failed');
      assert.ok(done?.finishedAt);
      assert.deepEqual(done, { ...withItems, status: 'failed', error: 'api failed', finishedAt: done.finishedAt });
      assert.equal(await m.deployments.finish(d.id, 'succeeded', null), null);
      assert.equal(await m.deployments.finish('nope', 'succeeded', null), null);
      assert.deepEqual(await m.deployments.get(d.id), done);
      assert.deepEqual(await m.deployments.listRunning(), [other]);
      await rejectsWith(m.deployments.create({ ...input, applicationId: 'missing' }), 'NOT_FOUND');
    }));
    test('list: newest first, per application, paged with before (exclusive) and limit', run(async (m) => {
      const s = await seed(m);
      const app2 = await m.applications.create({ accountId: s.accountId, name: 'Two', slug: 'two', env: {} });
      const made = [];
      for (let i = 0; i < 5; i++) {
        await tick();
        made.push(await m.deployments.create({ applicationId: s.applicationId, accountId: s.accountId, branch: null, trigger: 'web', triggeredBy: 'al', items: [] }));
      }
      await m.deployments.create({ applicationId: app2.id, accountId: s.accountId, branch: null, trigger: 'web', triggeredBy: 'al', items: [] });
      const newest = [...made].reverse();
      assert.deepEqual(await m.deployments.list(s.applicationId, { limit: 10 }), newest);
      assert.deepEqual(await m.deployments.list(s.applicationId, { limit: 2 }), newest.slice(0, 2));
      assert.deepEqual(await m.deployments.list(s.applicationId, { limit: 2, before: newest[1]!.id }), newest.slice(2, 4));
      assert.deepEqual(await m.deployments.list(s.applicationId, { limit: 2, before: newest[4]!.id }), []);
      assert.deepEqual(await m.deployments.list(s.applicationId, { limit: 2, before: 'nope' }), []);
      assert.deepEqual(await m.deployments.list(s.applicationId, { limit: 0 }), []);
    }));
  });

  describe('events', () => {
    test('append assigns increasing seqs; list filters by afterSeq, application, account and limit', run(async (m) => {
      const s = await seed(m);
      const beta = await seed(m, 'beta');
      assert.equal(await m.events.lastSeq(), 0);
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 10 }), []);
      const e1 = await m.events.append({ accountId: s.accountId, applicationId: s.applicationId, kind: 'build.queued', payload: { id: 'b1', n: [1, 'ü'] } });
      const e2 = await m.events.append({ accountId: s.accountId, applicationId: null, kind: 'account.member', payload: 'text' });
      const e3 = await m.events.append({ accountId: beta.accountId, applicationId: beta.applicationId, kind: 'build.queued', payload: null });
      const e4 = await m.events.append({ accountId: s.accountId, applicationId: s.applicationId, kind: 'build.done', payload: undefined });
      assert.deepEqual({ ...e1, seq: 0, createdAt: '' }, { seq: 0, accountId: s.accountId, applicationId: s.applicationId, kind: 'build.queued', payload: { id: 'b1', n: [1, 'ü'] }, createdAt: '' });
      assert.ok(e1.seq > 0 && e1.seq < e2.seq && e2.seq < e3.seq && e3.seq < e4.seq);
      assert.equal(e4.payload, null);
      assert.equal(await m.events.lastSeq(), e4.seq);
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 10 }), [e1, e2, e3, e4]);
      assert.deepEqual(await m.events.list({ afterSeq: e2.seq, limit: 10 }), [e3, e4]);
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 2 }), [e1, e2]);
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 10, applicationId: s.applicationId }), [e1, e4]);
      assert.deepEqual(await m.events.list({ afterSeq: e1.seq, limit: 10, applicationId: s.applicationId }), [e4]);
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 10, accountId: s.accountId }), [e1, e2, e4]);
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 10, accountId: beta.accountId }), [e3]);
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 10, accountId: s.accountId, applicationId: beta.applicationId }), []);
      assert.deepEqual(await m.events.list({ afterSeq: e4.seq, limit: 10 }), []);
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 0 }), []);
      await rejectsWith(m.events.append({ accountId: 'missing', applicationId: null, kind: 'x', payload: 1 }), 'NOT_FOUND');
    }));
    test('concurrent appends get distinct seqs, listed in seq order; an application\'s events outlive it', run(async (m) => {
      const s = await seed(m);
      const appended = await Promise.all(
        Array.from({ length: 40 }, (_, i) => m.events.append({ accountId: s.accountId, applicationId: s.applicationId, kind: 'k', payload: i })),
      );
      const seqs = appended.map((e) => e.seq);
      assert.equal(new Set(seqs).size, 40);
      const listed = await m.events.list({ afterSeq: 0, limit: 100 });
      assert.deepEqual(listed.map((e) => e.seq), [...seqs].sort((a, b) => a - b));
      assert.equal(await m.events.lastSeq(), Math.max(...seqs));
      // Paging with afterSeq = the last seq seen walks every event exactly once.
      const walked = [];
      for (let after = 0, page; (page = await m.events.list({ afterSeq: after, limit: 7 })).length > 0; after = page.at(-1)!.seq) walked.push(...page);
      assert.deepEqual(walked, listed);
      // No reference check on the application: its "deleted" event is appended after its row is gone.
      const e = await m.events.append({ accountId: s.accountId, applicationId: 'deleted-app', kind: 'application.deleted', payload: {} });
      assert.ok(e.seq > Math.max(...seqs));
      assert.deepEqual(await m.events.list({ afterSeq: 0, limit: 10, applicationId: 'deleted-app' }), [e]);
    }));
  });
}
