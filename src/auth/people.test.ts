import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isAppError, type ErrorCode } from '../core/errors.ts';
import { reservedNamespaces } from './accounts.ts';
import { createPeople } from './people.ts';
import { authFixture } from './testing/fixture.ts';

const code = (c: ErrorCode) => (e: unknown) => isAppError(e, c);

test('createUser validates, normalises the email and generates registry credentials', async () => {
  const { people } = authFixture();
  const u = await people.createUser({ email: ' Jane.Doe@Example.com ', password: 'password1' });
  assert.equal(u.email, 'jane.doe@example.com');
  assert.equal(u.isAdmin, false);
  assert.match(u.registryUsername, /^jane-doe-[a-z0-9]{4}$/);
  assert.equal(JSON.stringify(u).includes('Hash'), false, 'no secrets in the returned user');
  const creds = await people.registryCredentials(u.id);
  assert.equal(creds.username, u.registryUsername);
  assert.match(creds.password, /^bgr_[A-Za-z0-9_-]{43}$/);

  await assert.rejects(people.createUser({ email: 'not-an-email', password: 'password1' }), code('INVALID'));
  await assert.rejects(people.createUser({ email: 'x@example.com', password: 'short' }), code('INVALID'));
  await assert.rejects(people.createUser({ email: 'JANE.DOE@example.com', password: 'password1' }), code('CONFLICT'));
  const odd = await people.createUser({ email: '+++@example.com', password: 'password1' });
  assert.match(odd.registryUsername, /^user-[a-z0-9]{4}$/);
});

test('login issues a bga_ token that authenticates; wrong passwords are refused and counted', async () => {
  const { people } = authFixture({ maxFailuresPerMinute: 2 });
  const u = await people.createUser({ email: 'admin@example.com', password: 'password1', isAdmin: true });
  const { token, user, apiToken } = await people.login('ADMIN@example.com', 'password1', '10.0.0.1');
  assert.match(token, /^bga_/);
  assert.equal(user.id, u.id);
  assert.equal(apiToken.userId, u.id);
  assert.ok(apiToken.expiresAt);
  assert.deepEqual(await people.authenticateApiToken(token), { kind: 'user', id: u.id, email: 'admin@example.com', isAdmin: true });
  await assert.rejects(people.authenticateApiToken('bga_nope'), code('UNAUTHORIZED'));
  await assert.rejects(people.authenticateApiToken('not-even-prefixed'), code('UNAUTHORIZED'));

  await people.logout(token);
  await assert.rejects(people.authenticateApiToken(token), code('UNAUTHORIZED'));

  await assert.rejects(people.login('admin@example.com', 'wrong-password', '10.0.0.9'), code('UNAUTHORIZED'));
  await assert.rejects(people.login('nobody@example.com', 'password1', '10.0.0.9'), code('UNAUTHORIZED'));
  await assert.rejects(people.login('Admin@example.com', 'wrong-again', '10.0.0.9'), code('UNAUTHORIZED'));
  await assert.rejects(people.login('admin@example.com', 'wrong-thrice', '10.0.0.9'), code('UNAUTHORIZED'));
  // A person's password: locked out even when right (no guessing on), for this email from this address only.
  await assert.rejects(people.login('admin@example.com', 'password1', '10.0.0.9'), code('TOOMANYREQUESTS'));
  await people.login('admin@example.com', 'password1', '10.0.0.1');
  await people.createUser({ email: 'joe@example.com', password: 'password2' });
  await people.login('joe@example.com', 'password2', '10.0.0.9');
});

test('API tokens expire', async () => {
  const { people, clock } = authFixture();
  await people.createUser({ email: 'a@example.com', password: 'password1' });
  const { token } = await people.login('a@example.com', 'password1', 'ip');
  clock.advance(31 * 86400_000);
  await assert.rejects(people.authenticateApiToken(token), code('UNAUTHORIZED'));
});

test('rotation returns a new password and registryCredentials shows it', async () => {
  const { people } = authFixture();
  const u = await people.createUser({ email: 'a@example.com', password: 'password1' });
  const before = await people.registryCredentials(u.id);
  const after = await people.rotateRegistryPassword(u.id);
  assert.equal(after.username, before.username);
  assert.notEqual(after.password, before.password);
  assert.deepEqual(await people.registryCredentials(u.id), after);
  await assert.rejects(people.registryCredentials('missing'), code('NOT_FOUND'));
  await assert.rejects(people.rotateRegistryPassword('missing'), code('NOT_FOUND'));
});

test('accounts get a namespace from their name; a taken namespace asks for another name', async () => {
  const { people } = authFixture();
  const a = await people.createAccount('Acme Corp!');
  assert.equal(a.namespace, 'acme-corp');
  await assert.rejects(people.createAccount('ACME corp'), (e) => isAppError(e, 'CONFLICT') && /choose another/.test((e as Error).message));
  assert.equal((await people.createAccount('ACME corp', 'acme2')).namespace, 'acme2');
  await assert.rejects(people.createAccount('!!!'), code('INVALID'));
  await assert.rejects(people.createAccount('   '), code('INVALID'));
  await assert.rejects(people.createAccount('Fine', 'Bad/Namespace'), code('INVALID'));
  await assert.rejects(people.createAccount('Fine', '-x'), code('INVALID'));
});

test('memberships validate the role, the account and the user', async () => {
  const { people, metadata } = authFixture();
  const a = await people.createAccount('acme');
  const u = await people.createUser({ email: 'a@example.com', password: 'password1' });
  assert.deepEqual(await people.setMembership({ accountId: a.id, userId: u.id, role: 'viewer' }), { accountId: a.id, userId: u.id, role: 'viewer' });
  await people.setMembership({ accountId: a.id, userId: u.id, role: 'owner' });
  assert.equal((await metadata.memberships.get(a.id, u.id))?.role, 'owner');
  await assert.rejects(people.setMembership({ accountId: a.id, userId: u.id, role: 'god' }), code('INVALID'));
  await assert.rejects(people.setMembership({ accountId: 'nope', userId: u.id, role: 'viewer' }), code('NOT_FOUND'));
  await assert.rejects(people.setMembership({ accountId: a.id, userId: 'nope', role: 'viewer' }), code('NOT_FOUND'));
  await assert.rejects(people.removeMembership(a.id, u.id), code('CONFLICT'), 'the last owner stays');
  await assert.rejects(people.setMembership({ accountId: a.id, userId: u.id, role: 'developer' }), code('CONFLICT'));
  const v = await people.createUser({ email: 'b@example.com', password: 'password1' });
  await people.setMembership({ accountId: a.id, userId: v.id, role: 'owner' });
  await people.removeMembership(a.id, u.id);
  assert.equal(await metadata.memberships.get(a.id, u.id), null);
  await assert.rejects(people.removeMembership(a.id, u.id), code('NOT_FOUND'));
});

test('two owners demoting each other at once: neither change stays, the account keeps its owners', async () => {
  const { people, metadata } = authFixture();
  const a = await people.createAccount('acme');
  const [u, v] = await Promise.all(['u@example.com', 'v@example.com'].map((email) => people.createUser({ email, password: 'password1' })));
  for (const x of [u!, v!]) await people.setMembership({ accountId: a.id, userId: x.id, role: 'owner' });
  const results = await Promise.allSettled([
    people.setMembership({ accountId: a.id, userId: u!.id, role: 'viewer' }),
    people.removeMembership(a.id, v!.id),
  ]);
  const owners = (await metadata.memberships.listForAccount(a.id)).filter((m) => m.role === 'owner');
  assert.ok(owners.length >= 1, `owners left: ${owners.length}; results: ${results.map((r) => r.status).join(', ')}`);
  for (const r of results) if (r.status === 'rejected') assert.ok(isAppError(r.reason, 'CONFLICT'), String(r.reason));
});

test('reserved namespaces: built-in and configured ones for nobody, base namespaces for administrators only', async () => {
  const { metadata, clock } = authFixture();
  const people = createPeople({ metadata, secretKey: randomBytes(32), now: clock.now, reservedNamespaces: reservedNamespaces(['base'], ['corp']) });
  for (const ns of ['admin', 'v2', 'mirror', 'corp']) {
    await assert.rejects(people.createAccount('Team', ns), (e) => isAppError(e, 'INVALID') && new RegExp(`"${ns}" is reserved`).test((e as Error).message));
    await assert.rejects(people.createAccount('Team', ns, { byAdmin: true }), code('INVALID'));
  }
  for (const ns of ['library', 'base']) {
    await assert.rejects(people.createAccount(ns.toUpperCase()), (e) => isAppError(e, 'DENIED') && /only an administrator.*another namespace/.test((e as Error).message));
    assert.equal((await people.createAccount(ns, undefined, { byAdmin: true })).namespace, ns);
  }
  assert.equal((await people.createAccount('Library Fans')).namespace, 'library-fans');
});

test('pull tokens: username, password shown once, validation, list and revoke', async () => {
  const { people, clock } = authFixture();
  const a = await people.createAccount('acme');
  const created = await people.createPullToken({ accountId: a.id, name: 'CI Runner', repositories: ['acme/web.api', 'acme/web.api', 'acme/db.x'] });
  assert.equal(created.username, 'acme+ci-runner');
  assert.match(created.password, /^bgp_/);
  assert.deepEqual(created.token.repositories, ['acme/db.x', 'acme/web.api']);
  assert.equal(JSON.stringify(created.token).includes('secret'), false);
  const all = await people.createPullToken({ accountId: a.id, name: 'k8s', repositories: [], expiresAt: new Date(clock.now() + 3600_000).toISOString() });
  assert.equal(all.token.repositories, null);

  await assert.rejects(people.createPullToken({ accountId: a.id, name: 'ci runner' }), code('CONFLICT'));
  await assert.rejects(people.createPullToken({ accountId: a.id, name: 'x', repositories: ['other/web.api'] }), code('INVALID'));
  await assert.rejects(people.createPullToken({ accountId: a.id, name: 'x', repositories: ['acme'] }), code('INVALID'));
  await assert.rejects(people.createPullToken({ accountId: a.id, name: 'x', repositories: ['acme/Bad'] }), code('INVALID'));
  await assert.rejects(people.createPullToken({ accountId: a.id, name: '***' }), code('INVALID'));
  await assert.rejects(people.createPullToken({ accountId: a.id, name: 'x', expiresAt: 'tomorrow' }), code('INVALID'));
  await assert.rejects(people.createPullToken({ accountId: a.id, name: 'x', expiresAt: new Date(clock.now() - 1).toISOString() }), code('INVALID'));
  await assert.rejects(people.createPullToken({ accountId: 'nope', name: 'x' }), code('NOT_FOUND'));

  assert.equal((await people.listPullTokens(a.id)).length, 2);
  const revoked = await people.revokePullToken(created.token.id);
  assert.ok(revoked.revokedAt);
  assert.equal((await people.listPullTokens(a.id)).find((t) => t.id === created.token.id)?.revokedAt, revoked.revokedAt);
  await assert.rejects(people.revokePullToken('nope'), code('NOT_FOUND'));
});
