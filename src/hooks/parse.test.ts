import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../core/errors.ts';
import { bitbucketPush, githubPing, githubPush, gitlabPush, sign } from '../../test/hooks/payloads.ts';
import { parseHook, skipMarker, type Headers } from './parse.ts';
import { verifyRequest } from './verify.ts';

const C1 = 'a'.repeat(40);
const C2 = 'b'.repeat(40);
const parse = (call: { headers: Headers; body: string }) => parseHook(call.headers, call.headers['content-type'] as string | undefined, Buffer.from(call.body));
const invalid = (fn: () => unknown, re: RegExp) => assert.throws(fn, (err: unknown) => isAppError(err, 'INVALID') && re.test((err as Error).message));

test('GitHub push: branch, pushed commit, head commit message, pusher, delivery id', () => {
  const call = githubPush('s', { branch: 'main', commit: C1, before: C2, message: 'fix it', deliveryId: 'd-1' });
  const p = parse(call);
  assert.equal(p.provider, 'github');
  assert.equal(p.kind, 'push');
  assert.equal(p.deliveryKey, 'github:d-1');
  assert.equal(p.pusher, 'octocat');
  assert.deepEqual(p.updates, [{ branch: 'main', commit: C1, message: 'fix it' }]);
});

test('GitHub ping and other events are recognised; tags and deleted branches are ignored', () => {
  assert.equal(parse(githubPing('s')).kind, 'ping');
  assert.equal(parse({ headers: { 'x-github-event': 'pull_request' }, body: '{}' }).kind, 'other');
  const tag = JSON.parse(githubPush('s', { branch: 'x', commit: C1, message: 'm' }).body);
  tag.ref = 'refs/tags/v1.0';
  assert.match(parse({ headers: { 'x-github-event': 'push' }, body: JSON.stringify(tag) }).ignored[0]!, /refs\/tags\/v1.0 is a tag/);
  const del = { ...tag, ref: 'refs/heads/old', after: '0'.repeat(40), deleted: true, head_commit: null };
  const p = parse({ headers: { 'x-github-event': 'push' }, body: JSON.stringify(del) });
  assert.deepEqual(p.updates, []);
  assert.match(p.ignored[0]!, /branch old was deleted/);
});

test('GitHub form-encoded payloads (payload=<json>) are read too', () => {
  const json = githubPush('s', { branch: 'dev', commit: C1, message: 'm' }).body;
  const body = new URLSearchParams({ payload: json }).toString();
  const p = parse({ headers: { 'x-github-event': 'push', 'content-type': 'application/x-www-form-urlencoded' }, body });
  assert.deepEqual(p.updates.map((u) => u.branch), ['dev']);
});

test('malformed payloads say what is wrong', () => {
  invalid(() => parse({ headers: { 'x-github-event': 'push' }, body: '{"after": 1' }), /not valid JSON/);
  invalid(() => parse({ headers: { 'x-github-event': 'push' }, body: '[1,2]' }), /JSON object/);
  invalid(() => parse({ headers: { 'x-github-event': 'push' }, body: JSON.stringify({ after: C1 }) }), /needs "ref"/);
  invalid(() => parse({ headers: { 'x-github-event': 'push' }, body: JSON.stringify({ ref: 'refs/heads/main', after: 'nope' }) }), /after must be a 40-character commit hash/);
  invalid(() => parse({ headers: { 'x-github-event': 'push' }, body: '' }), /body is empty/);
  invalid(() => parse({ headers: { 'x-gitlab-event': 'Push Hook' }, body: JSON.stringify({ ref: 'refs/heads/main' }) }), /object_kind/);
  invalid(() => parse({ headers: { 'x-event-key': 'repo:push' }, body: JSON.stringify({ push: {} }) }), /push.changes/);
  invalid(() => parse({ headers: {}, body: JSON.stringify({ commit: C1 }) }), /commit needs its branch/);
  invalid(() => parse({ headers: {}, body: JSON.stringify({ branch: 3 }) }), /"branch" must be a string/);
});

test('GitLab Push Hook: checkout_sha and its commit message; without an event UUID the body hash dedupes', () => {
  const call = gitlabPush('t', { branch: 'main', commit: C1, message: 'feat: x [ci skip]', eventUuid: 'u-1' });
  const p = parse(call);
  assert.equal(p.provider, 'gitlab');
  assert.equal(p.deliveryKey, 'gitlab:u-1');
  assert.equal(p.pusher, 'jsmith');
  assert.deepEqual(p.updates, [{ branch: 'main', commit: C1, message: 'feat: x [ci skip]' }]);
  const a = parse(gitlabPush('t', { branch: 'main', commit: C1, message: 'm', eventUuid: null }));
  const b = parse({ headers: { 'x-gitlab-event': 'Push Hook' }, body: gitlabPush('t', { branch: 'main', commit: C1, message: 'm', eventUuid: null }).body });
  assert.match(a.deliveryKey!, /^gitlab:sha256:[0-9a-f]{64}$/);
  assert.equal(a.deliveryKey, b.deliveryKey);
  assert.equal(parse({ headers: { 'x-gitlab-event': 'Tag Push Hook' }, body: '{}' }).kind, 'other');
});

test('Bitbucket repo:push (Cloud) and repo:refs_changed (Server)', () => {
  const p = parse(bitbucketPush(null, { branch: 'main', commit: C1, before: C2, message: 'hello', deliveryId: 'r-1' }));
  assert.equal(p.provider, 'bitbucket');
  assert.equal(p.deliveryKey, 'bitbucket:r-1');
  assert.equal(p.pusher, 'Jane Dev');
  assert.deepEqual(p.updates, [{ branch: 'main', commit: C1, message: 'hello\n' }]);
  const closed = parse({ headers: { 'x-event-key': 'repo:push' }, body: JSON.stringify({ push: { changes: [{ new: null, old: { type: 'branch', name: 'gone' } }] } }) });
  assert.match(closed.ignored[0]!, /branch gone was deleted/);
  const server = parse({
    headers: { 'x-event-key': 'repo:refs_changed', 'x-request-id': 'srv-1' },
    body: JSON.stringify({ eventKey: 'repo:refs_changed', changes: [{ ref: { id: 'refs/heads/main', displayId: 'main', type: 'BRANCH' }, refId: 'refs/heads/main', fromHash: C2, toHash: C1, type: 'UPDATE' }] }),
  });
  assert.deepEqual(server.updates, [{ branch: 'main', commit: C1, message: null }]);
  assert.equal(server.deliveryKey, 'bitbucket:srv-1');
});

test('generic POST: empty body means every service, ref or branch selects, commit optional', () => {
  assert.deepEqual(parse({ headers: {}, body: '' }).updates, [{ branch: null, commit: null, message: null }]);
  assert.deepEqual(parse({ headers: {}, body: JSON.stringify({ ref: 'refs/heads/main', commit: C1.toUpperCase() }) }).updates, [{ branch: 'main', commit: C1, message: null }]);
  assert.deepEqual(parse({ headers: {}, body: JSON.stringify({ branch: 'dev' }) }).updates, [{ branch: 'dev', commit: null, message: null }]);
  assert.deepEqual(parse({ headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'branch=dev' }).updates.map((u) => u.branch), ['dev']);
  assert.equal(parse({ headers: { 'x-buildgrid-delivery': 'g-1' }, body: '{}' }).deliveryKey, 'generic:g-1');
  assert.match(parse({ headers: {}, body: JSON.stringify({ ref: 'refs/tags/v1' }) }).ignored[0]!, /tag/);
});

test('skip markers', () => {
  assert.equal(skipMarker('docs [skip build]'), '[skip build]');
  assert.equal(skipMarker('x\n\n[CI SKIP]'), '[CI SKIP]');
  assert.equal(skipMarker('[skip ci] readme'), '[skip ci]');
  assert.equal(skipMarker('skip build'), null);
  assert.equal(skipMarker(null), null);
});

test('credentials: every one presented must match, and one is needed', () => {
  const secret = 'bgh_secret';
  const body = Buffer.from('{"x":1}');
  const ok = (h: Headers, key?: string) => verifyRequest(secret, h, key, body);
  assert.deepEqual(ok({ 'x-hub-signature-256': sign(secret, '{"x":1}') }), { ok: true, via: ['x-hub-signature-256'] });
  assert.equal(ok({ 'x-hub-signature': sign(secret, '{"x":1}', 'sha1') }).ok, true);
  assert.equal(ok({ 'x-gitlab-token': secret }).ok, true);
  assert.equal(ok({}, secret).ok, true);
  assert.equal(ok({ 'x-buildgrid-hook-secret': secret }).ok, true);
  assert.equal(ok({ authorization: `Bearer ${secret}` }).ok, true);
  const refused = (v: ReturnType<typeof ok>, re: RegExp) => assert.ok(!v.ok && re.test(v.reason), JSON.stringify(v));
  refused(ok({ 'x-hub-signature-256': sign('other', '{"x":1}') }), /X-Hub-Signature-256 does not match/);
  refused(ok({ 'x-hub-signature-256': sign(secret, '{"x":2}') }), /does not match/);
  refused(ok({ 'x-hub-signature-256': 'sha256=zz' }), /does not match/);
  refused(ok({ 'x-hub-signature-256': sign(secret, '{"x":1}') }, 'wrong'), /key in the URL/);
  refused(ok({ 'x-gitlab-token': 'nope' }), /X-Gitlab-Token/);
  refused(ok({}), /no signature or secret/);
});
