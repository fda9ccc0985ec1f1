import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError, isAppError, type ErrorCode } from '../core/errors.ts';
import { API_TOKEN_NOT_ADMIN, INVALID_CREDENTIALS } from './registry-auth.ts';
import { authFixture } from './testing/fixture.ts';
import type { CredentialRef } from './types.ts';

const code = (c: ErrorCode) => (e: unknown) => isAppError(e, c);
const denied = (e: unknown) => isAppError(e, 'UNAUTHORIZED') && (e as Error).message === INVALID_CREDENTIALS;
const retryAfterOf = (e: unknown) => ((e as AppError).detail as { retryAfterSeconds: number }).retryAfterSeconds;

async function setup(maxFailuresPerMinute = 10) {
  const f = authFixture({ maxFailuresPerMinute });
  const account = await f.people.createAccount('acme');
  const user = await f.people.createUser({ email: 'jane@example.com', password: 'password1' });
  const creds = await f.people.registryCredentials(user.id);
  return { ...f, account, user, creds };
}

test('a user authenticates with registry credentials, not with the dashboard password', async () => {
  const { authenticator, user, creds } = await setup();
  const found = await authenticator.authenticate(creds.username, creds.password, 'ip');
  assert.deepEqual(found.principal, { kind: 'user', id: user.id, email: 'jane@example.com', isAdmin: false });
  assert.equal(found.credential.kind, 'registry-password');
  assert.ok(!JSON.stringify(found.credential).includes(creds.password), 'the credential reference holds no secret');
  await assert.rejects(authenticator.authenticate(creds.username, 'password1', 'ip'), denied);
  await assert.rejects(authenticator.authenticate('jane@example.com', creds.password, 'ip'), denied);
  await assert.rejects(authenticator.authenticate('nobody-0000', creds.password, 'ip'), denied);
  await assert.rejects(authenticator.authenticate('', '', 'ip'), denied);
});

test('an administrator\'s API token (bga_) works as the password with any username; nobody else\'s does', async () => {
  const { authenticator, people, user } = await setup();
  const { token } = await people.login('jane@example.com', 'password1', 'ip');
  for (const name of ['whatever', '']) {
    await assert.rejects(authenticator.authenticate(name, token, 'ip'), (e) => isAppError(e, 'UNAUTHORIZED') && (e as Error).message === API_TOKEN_NOT_ADMIN);
  }
  const admin = await people.createUser({ email: 'root@example.com', password: 'password1', isAdmin: true });
  const { token: adminToken } = await people.login('root@example.com', 'password1', 'ip');
  assert.equal((await authenticator.authenticate('whatever', adminToken, 'ip')).principal.id, admin.id);
  assert.equal((await authenticator.authenticate('', adminToken, 'ip')).principal.id, admin.id);
  await assert.rejects(authenticator.authenticate('x', 'bga_forged', 'ip'), denied);
  await people.logout(adminToken);
  await assert.rejects(authenticator.authenticate('whatever', adminToken, 'ip'), denied, 'sign-out takes effect at once');
  void user;
});

test('rotation invalidates the old password immediately, despite the cache', async () => {
  const { authenticator, people, user, creds, metadata } = await setup();
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  const lookups = metadata.callCount('users.');
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  assert.equal(metadata.callCount('users.'), lookups, 'second verification is served from the cache');

  const fresh = await people.rotateRegistryPassword(user.id);
  await assert.rejects(authenticator.authenticate(creds.username, creds.password, 'ip'), denied);
  assert.equal((await authenticator.authenticate(fresh.username, fresh.password, 'ip')).principal.id, user.id);
});

test('an in-flight verification does not repopulate the cache after rotation', async () => {
  const { authenticator, people, user, creds, metadata } = await setup();
  // Rotate while the lookup is running: the result was computed against the old secret.
  const original = metadata.users.getByRegistryUsername.bind(metadata.users);
  let rotated = false;
  metadata.users.getByRegistryUsername = async (name) => {
    const row = await original(name);
    if (!rotated) {
      rotated = true;
      await people.rotateRegistryPassword(user.id);
    }
    return row;
  };
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  metadata.users.getByRegistryUsername = original;
  await assert.rejects(authenticator.authenticate(creds.username, creds.password, 'ip'), denied);
});

test('the cache expires after a few seconds (other nodes rotating are seen)', async () => {
  const { authenticator, creds, metadata, clock, user } = await setup();
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  await metadata.users.setRegistrySecret(user.id, { hash: 'f'.repeat(64), enc: 'x' }); // as another node would, no invalidate
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  clock.advance(5001);
  await assert.rejects(authenticator.authenticate(creds.username, creds.password, 'ip'), denied);
});

test('pull tokens: accepted while valid; wrong password, revoked and expired are rejected', async () => {
  const { authenticator, people, account, clock } = await setup();
  const t = await people.createPullToken({
    accountId: account.id, name: 'ci', repositories: ['acme/web.api'], expiresAt: new Date(clock.now() + 60_000).toISOString(),
  });
  assert.deepEqual((await authenticator.authenticate(t.username, t.password, 'ip')).principal, {
    kind: 'pull-token', id: t.token.id, accountId: account.id, namespace: 'acme', repositories: ['acme/web.api'],
  });
  await assert.rejects(authenticator.authenticate(t.username, t.password + 'x', 'ip'), denied);
  await assert.rejects(authenticator.authenticate('acme+nope', t.password, 'ip'), denied);

  clock.advance(60_000); // expiry also bounds the cache entry
  await assert.rejects(authenticator.authenticate(t.username, t.password, 'ip'), denied);

  const k = await people.createPullToken({ accountId: account.id, name: 'k8s' });
  await authenticator.authenticate(k.username, k.password, 'ip');
  await people.revokePullToken(k.token.id);
  await assert.rejects(authenticator.authenticate(k.username, k.password, 'ip'), denied);
});

test('failures count per address and username; a valid credential is never refused', async () => {
  const { authenticator, people, account, creds, metadata, clock } = await setup(3);
  const other = await people.createUser({ email: 'joe@example.com', password: 'password1' });
  const otherCreds = await people.registryCredentials(other.id);
  for (let i = 0; i < 4; i++) await assert.rejects(authenticator.authenticate(creds.username, `bgr_wrong${i}`, '6.6.6.6'), denied);
  const locked = await authenticator.authenticate(creds.username, 'bgr_still-wrong', '6.6.6.6').catch((e: unknown) => e);
  assert.ok(isAppError(locked, 'TOOMANYREQUESTS'));
  assert.equal(retryAfterOf(locked), 60);
  assert.match((locked as Error).message, /for this user from this address: try again in 60 s/);

  // Not shaped like any BuildGrid secret: refused without a lookup.
  const lookups = metadata.callCount('users.');
  await assert.rejects(authenticator.authenticate(creds.username, 'hunter2', '6.6.6.6'), code('TOOMANYREQUESTS'));
  assert.equal(metadata.callCount('users.'), lookups, 'no lookup for a password that cannot be a registry secret');

  assert.ok(await authenticator.authenticate(creds.username, creds.password, '6.6.6.6'), 'the valid password still works');
  assert.ok(await authenticator.authenticate(otherCreds.username, otherCreds.password, '6.6.6.6'), 'another user from that address');
  const pull = await people.createPullToken({ accountId: account.id, name: 'ci' });
  assert.ok(await authenticator.authenticate(pull.username, pull.password, '6.6.6.6'));
  await assert.rejects(authenticator.authenticate(otherCreds.username, 'bgr_wrong', '6.6.6.6'), denied, 'other keys keep counting from zero');
  await assert.rejects(authenticator.authenticate(creds.username, 'bgr_wrong', '7.7.7.7'), denied, 'other addresses are unaffected');

  clock.advance(25_000);
  const later = await authenticator.authenticate(creds.username, 'bgr_wrong', '6.6.6.6').catch((e: unknown) => e);
  assert.equal(retryAfterOf(later), 35, 'the time left, not a fixed minute');
  clock.advance(35_000);
  await assert.rejects(authenticator.authenticate(creds.username, 'bgr_wrong', '6.6.6.6'), denied);
});

test('job tokens never meet the limiter, and count only while their build runs under their claim', async () => {
  const { authenticator, jobTokens, metadata, clock } = await setup(1);
  metadata.putBuild({ id: 'b1', status: 'building', attempt: 1, commit: null });
  const token = jobTokens.issue({ buildId: 'b1', attempt: 1, repository: 'acme/web.api', pullNamespaces: ['library'], tag: null, ttlSeconds: 3600 });
  for (let i = 0; i < 5; i++) {
    await assert.rejects(authenticator.authenticate('buildgrid-job', `bgr_wrong${i}`, '127.0.0.1'));
    await assert.rejects(authenticator.authenticate('buildgrid-job', `bgj_forged${i}.x`, '127.0.0.1'), code('UNAUTHORIZED'));
  }
  const found = await authenticator.authenticate('buildgrid-job', token, '127.0.0.1');
  assert.deepEqual(found.principal, { kind: 'job', id: 'b1', repository: 'acme/web.api', pullNamespaces: ['library'], tag: null });

  metadata.putBuild({ id: 'b1', status: 'pushing', attempt: 1, commit: 'c'.repeat(40) });
  assert.equal(((await authenticator.authenticate('buildgrid-job', token, '127.0.0.1')).principal as { tag: string }).tag, 'c'.repeat(40));
  assert.deepEqual(await authenticator.recheck(found.credential), { ...found.principal, tag: 'c'.repeat(40) }, 'the tag follows the recorded commit');

  metadata.putBuild({ id: 'b1', status: 'fetching', attempt: 2, commit: 'c'.repeat(40) }); // reclaimed and claimed again
  await assert.rejects(authenticator.authenticate('buildgrid-job', token, '127.0.0.1'), /stop when their build ends/);
  assert.equal(await authenticator.recheck(found.credential), null);
  for (const status of ['succeeded', 'failed', 'cancelled', 'queued'] as const) {
    metadata.putBuild({ id: 'b1', status, attempt: 1, commit: 'c'.repeat(40) });
    assert.equal(await authenticator.recheck(found.credential), null, status);
  }
  metadata.putBuild({ id: 'b1', status: 'pushing', attempt: 1, commit: 'c'.repeat(40) });
  const tagged = jobTokens.issue({ buildId: 'b1', attempt: 1, repository: 'acme/web.api', pullNamespaces: [], tag: 'd'.repeat(40), ttlSeconds: 60 });
  assert.equal(((await authenticator.authenticate('u', tagged, 'ip')).principal as { tag: string }).tag, 'd'.repeat(40), 'the token\'s own tag wins');
  clock.advance(61_000);
  await assert.rejects(authenticator.authenticate('u', tagged, 'ip'), code('UNAUTHORIZED'), 'and its lifetime still bounds it');
});

test('recheck: a credential that is revoked, expired, rotated or demoted stops standing', async () => {
  const { authenticator, people, account, user, creds, metadata, clock } = await setup();
  const pw = (await authenticator.authenticate(creds.username, creds.password, 'ip')).credential;
  assert.equal((await authenticator.recheck(pw))?.id, user.id);
  await people.rotateRegistryPassword(user.id);
  assert.equal(await authenticator.recheck(pw), null, 'rotated (invalidated on this node at once)');

  const t = await people.createPullToken({ accountId: account.id, name: 'ci', expiresAt: new Date(clock.now() + 10_000).toISOString() });
  const pt = (await authenticator.authenticate(t.username, t.password, 'ip')).credential;
  assert.equal((await authenticator.recheck(pt))?.kind, 'pull-token');
  clock.advance(10_000);
  assert.equal(await authenticator.recheck(pt), null, 'expired');
  const k = await people.createPullToken({ accountId: account.id, name: 'k8s' });
  const kt = (await authenticator.authenticate(k.username, k.password, 'ip')).credential;
  await people.revokePullToken(k.token.id);
  assert.equal(await authenticator.recheck(kt), null, 'revoked');

  const admin = await people.createUser({ email: 'root@example.com', password: 'password1', isAdmin: true });
  const { token, apiToken } = await people.login('root@example.com', 'password1', 'ip');
  const at = (await authenticator.authenticate('x', token, 'ip')).credential;
  assert.deepEqual(at, { kind: 'api-token', id: apiToken.id });
  assert.equal((await authenticator.recheck(at))?.id, admin.id);
  await people.logout(token);
  assert.equal(await authenticator.recheck(at), null, 'signed out');

  const forged: CredentialRef = { kind: 'registry-password', userId: user.id, fingerprint: 'x'.repeat(24) };
  assert.equal(await authenticator.recheck(forged), null);
  void metadata;
});

test('recheck answers are reused for two seconds, and a change on another node is seen after that', async () => {
  const { authenticator, account, people, metadata, clock } = await setup();
  const t = await people.createPullToken({ accountId: account.id, name: 'ci' });
  const cred = (await authenticator.authenticate(t.username, t.password, 'ip')).credential;
  await authenticator.recheck(cred);
  const lookups = metadata.callCount('pullTokens.');
  await authenticator.recheck(cred);
  assert.equal(metadata.callCount('pullTokens.'), lookups);
  await metadata.pullTokens.revoke(t.token.id); // as another node would: no invalidation here
  assert.ok(await authenticator.recheck(cred));
  clock.advance(2001);
  assert.equal(await authenticator.recheck(cred), null);
});

test('invalidate() forgets cached verifications', async () => {
  const { authenticator, creds, metadata } = await setup();
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  const lookups = metadata.callCount('users.');
  authenticator.invalidate();
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  assert.ok(metadata.callCount('users.') > lookups);
});
