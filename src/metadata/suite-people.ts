import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rejectsWith, withStore, type OpenStore } from './suite-helpers.ts';
import type { Metadata } from './types.ts';

/** Contract tests for accounts, users, memberships, API tokens, pull tokens and settings. */
export function peopleSuite(open: OpenStore): void {
  const run = (fn: (m: Metadata) => Promise<void>) => () => withStore(open, fn);

  describe('accounts', () => {
    test('create, get, getByNamespace, list', run(async (m) => {
      const b = await m.accounts.create({ name: 'Beta Ltd', namespace: 'beta' });
      const a = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
      assert.equal(a.name, 'Acme');
      assert.equal(a.namespace, 'acme');
      assert.ok(a.id && a.id !== b.id);
      assert.ok(!Number.isNaN(Date.parse(a.createdAt)));
      assert.deepEqual(await m.accounts.get(a.id), a);
      assert.deepEqual(await m.accounts.getByNamespace('beta'), b);
      assert.equal(await m.accounts.get('nope'), null);
      assert.equal(await m.accounts.getByNamespace('nope'), null);
      assert.deepEqual(await m.accounts.list(), [a, b]);
    }));
    test('a taken namespace is a CONFLICT naming it', run(async (m) => {
      await m.accounts.create({ name: 'Acme', namespace: 'acme' });
      await rejectsWith(m.accounts.create({ name: 'Other', namespace: 'acme' }), 'CONFLICT', /namespace "acme"/);
    }));
  });

  describe('users', () => {
    const input = (n: string, isAdmin = false) => ({
      email: `${n}@example.com`, passwordHash: `pw-${n}`, isAdmin, registryUsername: `reg-${n}`,
      registrySecretHash: `rh-${n}`, registrySecretEnc: `re-${n}`,
    });
    test('create, get, getByEmail, getByRegistryUsername, list', run(async (m) => {
      const bob = await m.users.create(input('bob'));
      const al = await m.users.create(input('al', true));
      assert.deepEqual(Object.keys(al).sort(), ['createdAt', 'email', 'id', 'isAdmin', 'registryUsername']);
      assert.equal(al.isAdmin, true);
      assert.equal(bob.isAdmin, false);
      assert.deepEqual(await m.users.get(al.id), al);
      assert.equal(await m.users.get('nope'), null);
      assert.deepEqual(await m.users.getByEmail('al@example.com'), {
        ...al, passwordHash: 'pw-al', registrySecretHash: 'rh-al', registrySecretEnc: 're-al',
      });
      assert.equal((await m.users.getByRegistryUsername('reg-bob'))?.id, bob.id);
      assert.equal(await m.users.getByEmail('nobody@example.com'), null);
      assert.equal(await m.users.getByRegistryUsername('nobody'), null);
      assert.deepEqual(await m.users.list(), [al, bob]);
    }));
    test('setPasswordHash and setRegistrySecret replace the old values', run(async (m) => {
      const u = await m.users.create(input('al'));
      await m.users.setPasswordHash(u.id, 'pw2');
      await m.users.setRegistrySecret(u.id, { hash: 'rh2', enc: 're2' });
      const s = await m.users.getByRegistryUsername('reg-al');
      assert.equal(s?.passwordHash, 'pw2');
      assert.equal(s?.registrySecretHash, 'rh2');
      assert.equal(s?.registrySecretEnc, 're2');
      await m.users.setPasswordHash('missing', 'x'); // no-op, no throw
    }));
    test('a taken email or registry username is a CONFLICT naming which', run(async (m) => {
      await m.users.create(input('al'));
      await rejectsWith(m.users.create({ ...input('x'), email: 'al@example.com' }), 'CONFLICT', /email "al@example.com"/);
      await rejectsWith(m.users.create({ ...input('x'), registryUsername: 'reg-al' }), 'CONFLICT', /registry username "reg-al"/);
    }));
  });

  describe('memberships', () => {
    test('set (upsert), get, listForUser, listForAccount, remove', run(async (m) => {
      const acme = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
      const beta = await m.accounts.create({ name: 'Beta', namespace: 'beta' });
      const base = { passwordHash: 'p', isAdmin: false, registrySecretHash: 'h', registrySecretEnc: 'e' };
      const al = await m.users.create({ ...base, email: 'al@x.io', registryUsername: 'al' });
      const bo = await m.users.create({ ...base, email: 'bo@x.io', registryUsername: 'bo' });
      await m.memberships.set({ accountId: acme.id, userId: al.id, role: 'viewer' });
      await m.memberships.set({ accountId: acme.id, userId: al.id, role: 'owner' });
      await m.memberships.set({ accountId: beta.id, userId: al.id, role: 'developer' });
      await m.memberships.set({ accountId: acme.id, userId: bo.id, role: 'viewer' });
      assert.deepEqual(await m.memberships.get(acme.id, al.id), { accountId: acme.id, userId: al.id, role: 'owner' });
      assert.equal(await m.memberships.get(beta.id, bo.id), null);
      assert.deepEqual(await m.memberships.listForUser(al.id), [
        { accountId: acme.id, userId: al.id, role: 'owner', namespace: 'acme', accountName: 'Acme' },
        { accountId: beta.id, userId: al.id, role: 'developer', namespace: 'beta', accountName: 'Beta' },
      ]);
      assert.deepEqual(await m.memberships.listForAccount(acme.id), [
        { accountId: acme.id, userId: al.id, role: 'owner', email: 'al@x.io' },
        { accountId: acme.id, userId: bo.id, role: 'viewer', email: 'bo@x.io' },
      ]);
      await m.memberships.remove(acme.id, al.id);
      assert.equal(await m.memberships.get(acme.id, al.id), null);
      assert.equal((await m.memberships.listForUser(al.id)).length, 1);
    }));
    test('an unknown role is INVALID; a missing account or user is NOT_FOUND', run(async (m) => {
      const acme = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
      await rejectsWith(m.memberships.set({ accountId: acme.id, userId: 'u', role: 'root' as 'owner' }), 'INVALID', /root/);
      await rejectsWith(m.memberships.set({ accountId: acme.id, userId: 'missing', role: 'owner' }), 'NOT_FOUND');
    }));
  });

  describe('api tokens', () => {
    test('create, findByHash, revoke; expired tokens are not found', run(async (m) => {
      const u = await m.users.create({
        email: 'al@x.io', passwordHash: 'p', isAdmin: false, registryUsername: 'al', registrySecretHash: 'h', registrySecretEnc: 'e',
      });
      const live = await m.apiTokens.create({ userId: u.id, name: 'ci', tokenHash: 'h1', expiresAt: '2999-01-01T00:00:00Z' });
      assert.equal(live.expiresAt, '2999-01-01T00:00:00.000Z', 'expiresAt is normalised to toISOString form');
      assert.deepEqual(await m.apiTokens.findByHash('h1'), live);
      const forever = await m.apiTokens.create({ userId: u.id, name: 'cli', tokenHash: 'h2', expiresAt: null });
      assert.deepEqual(await m.apiTokens.findByHash('h2'), forever);
      await m.apiTokens.create({ userId: u.id, name: 'old', tokenHash: 'h3', expiresAt: new Date(Date.now() - 1000).toISOString() });
      assert.equal(await m.apiTokens.findByHash('h3'), null);
      assert.equal(await m.apiTokens.findByHash('nope'), null);
      assert.deepEqual(await m.apiTokens.findLive(live.id), live);
      await m.apiTokens.revoke(live.id);
      assert.equal(await m.apiTokens.findByHash('h1'), null);
      assert.equal(await m.apiTokens.findLive(live.id), null, 'findLive: not once revoked');
      assert.notEqual(await m.apiTokens.findByHash('h2'), null);
      assert.deepEqual(await m.apiTokens.findLive(forever.id), forever);
      assert.equal(await m.apiTokens.findLive('nope'), null);
    }));
    test('findLive skips expired tokens', run(async (m) => {
      const u = await m.users.create({
        email: 'bo@x.io', passwordHash: 'p', isAdmin: false, registryUsername: 'bo', registrySecretHash: 'h', registrySecretEnc: 'e',
      });
      const old = await m.apiTokens.create({ userId: u.id, name: 'old', tokenHash: 'h9', expiresAt: new Date(Date.now() - 1000).toISOString() });
      assert.equal(await m.apiTokens.findLive(old.id), null);
    }));
    test('bad expiry is INVALID; a missing user is NOT_FOUND', run(async (m) => {
      await rejectsWith(m.apiTokens.create({ userId: 'x', name: 'n', tokenHash: 'h', expiresAt: 'tomorrow' }), 'INVALID', /expiresAt/);
      await rejectsWith(m.apiTokens.create({ userId: 'missing', name: 'n', tokenHash: 'h', expiresAt: null }), 'NOT_FOUND');
    }));
  });

  describe('pull tokens', () => {
    test('create, get, getByUsername, list, revoke', run(async (m) => {
      const acme = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
      const a = await m.pullTokens.create({
        accountId: acme.id, name: 'k8s', username: 'pt-1', secretHash: 's1', repositories: ['acme/web.api'], expiresAt: null,
      });
      const b = await m.pullTokens.create({
        accountId: acme.id, name: 'ci', username: 'pt-2', secretHash: 's2', repositories: null, expiresAt: '2999-06-01T00:00:00+02:00',
      });
      assert.deepEqual(a.repositories, ['acme/web.api']);
      assert.equal(b.repositories, null);
      assert.equal(b.expiresAt, '2999-05-31T22:00:00.000Z');
      assert.equal(a.revokedAt, null);
      assert.deepEqual(await m.pullTokens.get(a.id), a);
      assert.equal(await m.pullTokens.get('nope'), null);
      assert.deepEqual(await m.pullTokens.getByUsername('pt-2'), { ...b, secretHash: 's2' });
      assert.equal(await m.pullTokens.getByUsername('nope'), null);
      assert.deepEqual((await m.pullTokens.list(acme.id)).map((t) => t.id).sort(), [a.id, b.id].sort());
      assert.deepEqual(await m.pullTokens.list('other'), []);
      await m.pullTokens.revoke(a.id);
      const revoked = await m.pullTokens.get(a.id);
      assert.ok(revoked?.revokedAt && !Number.isNaN(Date.parse(revoked.revokedAt)));
      assert.equal((await m.pullTokens.getByUsername('pt-1'))?.revokedAt, revoked.revokedAt);
      assert.equal((await m.pullTokens.list(acme.id)).length, 2, 'a revoked token stays listed');
      await m.pullTokens.revoke(a.id); // revoking twice keeps the first time
      assert.equal((await m.pullTokens.get(a.id))?.revokedAt, revoked.revokedAt);
    }));
    test('a taken username is a CONFLICT; a missing account is NOT_FOUND', run(async (m) => {
      const acme = await m.accounts.create({ name: 'Acme', namespace: 'acme' });
      const t = { accountId: acme.id, name: 'n', username: 'pt', secretHash: 's', repositories: null, expiresAt: null };
      await m.pullTokens.create(t);
      await rejectsWith(m.pullTokens.create(t), 'CONFLICT', /"pt"/);
      await rejectsWith(m.pullTokens.create({ ...t, username: 'pt2', accountId: 'missing' }), 'NOT_FOUND');
    }));
  });

  describe('settings', () => {
    test('get and setIfAbsent: the first value wins', run(async (m) => {
      assert.equal(await m.settings.get('k'), null);
      assert.equal(await m.settings.setIfAbsent('k', 'one'), 'one');
      assert.equal(await m.settings.setIfAbsent('k', 'two'), 'one');
      assert.equal(await m.settings.get('k'), 'one');
      const raced = await Promise.all(['a', 'b', 'c'].map((v) => m.settings.setIfAbsent('race', v)));
      assert.equal(new Set(raced).size, 1);
    }));
    test('delete removes a key (and is a no-op for an absent one)', run(async (m) => {
      await m.settings.setIfAbsent('gone', 'x');
      await m.settings.delete('gone');
      assert.equal(await m.settings.get('gone'), null);
      await m.settings.delete('never-there');
      assert.equal(await m.settings.setIfAbsent('gone', 'y'), 'y');
    }));
  });
}
