import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError, type ErrorCode } from '../core/errors.ts';
import { INVALID_CREDENTIALS } from './registry-auth.ts';
import { authFixture } from './testing/fixture.ts';

const code = (c: ErrorCode) => (e: unknown) => isAppError(e, c);
const denied = (e: unknown) => isAppError(e, 'UNAUTHORIZED') && (e as Error).message === INVALID_CREDENTIALS;

async function setup(maxFailuresPerMinute = 10) {
  const f = authFixture({ maxFailuresPerMinute });
  const account = await f.people.createAccount('acme');
  const user = await f.people.createUser({ email: 'jane@example.com', password: 'password1' });
  const creds = await f.people.registryCredentials(user.id);
  return { ...f, account, user, creds };
}

test('a user authenticates with registry credentials, not with the dashboard password', async () => {
  const { authenticator, user, creds } = await setup();
  assert.deepEqual(await authenticator.authenticate(creds.username, creds.password, 'ip'), {
    kind: 'user', id: user.id, email: 'jane@example.com', isAdmin: false,
  });
  await assert.rejects(authenticator.authenticate(creds.username, 'password1', 'ip'), denied);
  await assert.rejects(authenticator.authenticate('jane@example.com', creds.password, 'ip'), denied);
  await assert.rejects(authenticator.authenticate('nobody-0000', creds.password, 'ip'), denied);
  await assert.rejects(authenticator.authenticate('', '', 'ip'), denied);
});

test('an API token (bga_) works as the password with any username', async () => {
  const { authenticator, people, user } = await setup();
  const { token } = await people.login('jane@example.com', 'password1', 'ip');
  assert.equal((await authenticator.authenticate('whatever', token, 'ip')).id, user.id);
  assert.equal((await authenticator.authenticate('', token, 'ip')).id, user.id);
  await assert.rejects(authenticator.authenticate('x', 'bga_forged', 'ip'), denied);
  await people.logout(token);
  await assert.rejects(authenticator.authenticate('whatever', token, 'ip'), denied, 'sign-out takes effect at once');
});

test('rotation invalidates the old password immediately, despite the cache', async () => {
  const { authenticator, people, user, creds, metadata } = await setup();
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  const lookups = metadata.callCount('users.');
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  assert.equal(metadata.callCount('users.'), lookups, 'second verification is served from the cache');

  const fresh = await people.rotateRegistryPassword(user.id);
  await assert.rejects(authenticator.authenticate(creds.username, creds.password, 'ip'), denied);
  assert.equal((await authenticator.authenticate(fresh.username, fresh.password, 'ip')).id, user.id);
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
  assert.deepEqual(await authenticator.authenticate(t.username, t.password, 'ip'), {
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

test('the limiter refuses a source after too many failures, before checking credentials', async () => {
  const { authenticator, creds, metadata, clock } = await setup(3);
  for (let i = 0; i < 4; i++) await assert.rejects(authenticator.authenticate(creds.username, `wrong${i}`, '6.6.6.6'), denied);
  const lookups = metadata.callCount('users.');
  await assert.rejects(authenticator.authenticate(creds.username, creds.password, '6.6.6.6'), code('TOOMANYREQUESTS'));
  assert.equal(metadata.callCount('users.'), lookups, 'no lookup while locked out');
  assert.ok(await authenticator.authenticate(creds.username, creds.password, '7.7.7.7'), 'other sources are unaffected');
  clock.advance(60_000);
  assert.ok(await authenticator.authenticate(creds.username, creds.password, '6.6.6.6'));
});

test('invalidate() forgets cached verifications', async () => {
  const { authenticator, creds, metadata } = await setup();
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  const lookups = metadata.callCount('users.');
  authenticator.invalidate();
  await authenticator.authenticate(creds.username, creds.password, 'ip');
  assert.ok(metadata.callCount('users.') > lookups);
});
