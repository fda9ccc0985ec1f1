import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Principal } from './types.ts';
import { authFixture } from './testing/fixture.ts';

async function world() {
  const f = authFixture();
  const a = await f.people.createAccount('Acme');
  const b = await f.people.createAccount('Beta');
  const alice = await f.people.createUser({ email: 'alice@example.com', password: 'password1' });
  const victor = await f.people.createUser({ email: 'victor@example.com', password: 'password1' });
  const root = await f.people.createUser({ email: 'root@example.com', password: 'password1', isAdmin: true });
  await f.people.setMembership({ accountId: a.id, userId: alice.id, role: 'developer' });
  await f.people.setMembership({ accountId: a.id, userId: victor.id, role: 'viewer' });
  const p = (u: typeof alice): Principal => ({ kind: 'user', id: u.id, email: u.email, isAdmin: u.isAdmin });
  return { ...f, a, b, alice: p(alice), victor: p(victor), root: p(root) };
}

const acts = async (rules: { actionsFor(p: Principal, n: string): Promise<Set<string>> }, p: Principal, name: string) =>
  [...(await rules.actionsFor(p, name))].sort().join(',');

test('access matrix: members pull their namespaces only; admin does everything', async () => {
  const { access, alice, victor, root } = await world();
  const cases: [Principal, string, string][] = [
    [alice, 'acme/web.api', 'pull'],
    [alice, 'acme/deep/nested.repo', 'pull'],
    [alice, 'beta/web.api', ''],
    [alice, 'acme', ''], // a bare name is in no namespace
    [alice, 'acmex/web.api', ''],
    [alice, 'ACME/web.api', ''], // invalid name
    [victor, 'acme/web.api', 'pull'],
    [victor, 'beta/web.api', ''],
    [root, 'beta/web.api', 'delete,pull,push'],
    [root, 'library/busybox', 'delete,pull,push'],
    [root, 'not a name', ''],
  ];
  for (const [p, name, expected] of cases) assert.equal(await acts(access, p, name), expected, `${p.kind === 'user' ? p.email : p.kind} on ${name}`);
  assert.deepEqual(await access.listableNamespaces(alice), ['acme']);
  assert.equal(await access.listableNamespaces(root), null);
});

test('pull tokens pull their account only, limited to their repositories when listed', async () => {
  const { access, a } = await world();
  const all: Principal = { kind: 'pull-token', id: 't1', accountId: a.id, namespace: 'acme', repositories: null };
  const some: Principal = { kind: 'pull-token', id: 't2', accountId: a.id, namespace: 'acme', repositories: ['acme/web.api'] };
  assert.equal(await acts(access, all, 'acme/web.api'), 'pull');
  assert.equal(await acts(access, all, 'acme/other.repo'), 'pull');
  assert.equal(await acts(access, all, 'beta/web.api'), '');
  assert.equal(await acts(access, some, 'acme/web.api'), 'pull');
  assert.equal(await acts(access, some, 'acme/other.repo'), '');
  assert.deepEqual(await access.listableNamespaces(some), ['acme']);
});

test('a job may pull and push exactly its repository, and only pull from its pull namespaces', async () => {
  const { access } = await world();
  const job: Principal = { kind: 'job', id: 'j1', repository: 'acme/web.api', pullNamespaces: [], tag: 'a'.repeat(40) };
  assert.equal(await acts(access, job, 'acme/web.api'), 'pull,push');
  assert.equal(await acts(access, job, 'acme/web.api2'), '');
  assert.equal(await acts(access, job, 'acme/other.repo'), '');
  assert.deepEqual(await access.listableNamespaces(job), ['acme']);
  const wider: Principal = { kind: 'job', id: 'j2', repository: 'acme/web.api', pullNamespaces: ['acme', 'library'], tag: null };
  assert.equal(await acts(access, wider, 'acme/other.repo'), 'pull');
  assert.equal(await acts(access, wider, 'library/busybox'), 'pull');
  assert.equal(await acts(access, wider, 'globex/shop.web'), '');
  assert.deepEqual(await access.listableNamespaces(wider), ['acme', 'library']);
});

test('a job sets its one tag only; people who may push set any', async () => {
  const { access } = await world();
  const job: Principal = { kind: 'job', id: 'j1', repository: 'acme/web.api', pullNamespaces: [], tag: 'a'.repeat(40) };
  assert.equal(access.tagRefusal(job, 'acme/web.api', 'a'.repeat(40)), null);
  for (const tag of ['latest', 'b'.repeat(40), 'A'.repeat(40)]) assert.match(access.tagRefusal(job, 'acme/web.api', tag)!, /may push only the tag a{40}/);
  assert.match(access.tagRefusal({ ...job, tag: null }, 'acme/web.api', 'a'.repeat(40))!, /not recorded yet/);
  const admin: Principal = { kind: 'user', id: 'u', email: 'root@example.com', isAdmin: true };
  assert.equal(access.tagRefusal(admin, 'acme/web.api', 'latest'), null);
});

test('memberships are cached briefly, and changes through people take effect at once', async () => {
  const { access, people, alice, a, b, metadata, clock } = await world();
  await access.actionsFor(alice, 'acme/web.api');
  const lookups = metadata.callCount('memberships.listForUser');
  await access.actionsFor(alice, 'acme/other.repo');
  assert.equal(metadata.callCount('memberships.listForUser'), lookups, 'served from cache');

  await people.setMembership({ accountId: b.id, userId: alice.id, role: 'viewer' });
  assert.equal(await acts(access, alice, 'beta/web.api'), 'pull');
  await people.removeMembership(a.id, alice.id);
  assert.equal(await acts(access, alice, 'acme/web.api'), '');

  // A change made elsewhere (another node) is seen once the entry expires.
  await metadata.memberships.set({ accountId: a.id, userId: alice.id, role: 'viewer' });
  assert.equal(await acts(access, alice, 'acme/web.api'), '');
  clock.advance(2001);
  assert.equal(await acts(access, alice, 'acme/web.api'), 'pull');
});
