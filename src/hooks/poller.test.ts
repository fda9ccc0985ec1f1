import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openMetadata } from '../metadata/index.ts';
import type { Service } from '../metadata/types.ts';
import { createPoller } from './poller.ts';
import type { DeployRequest } from './types.ts';

// The poller over a real (in-memory SQLite) store, with git and the deployer replaced by recorders.
async function setup() {
  const m = await openMetadata({ kind: 'sqlite', path: ':memory:' });
  const account = await m.accounts.create({ name: 'acme', namespace: 'acme' });
  const app = await m.applications.create({ accountId: account.id, name: 'Shop', slug: 'shop', env: {} });
  const svc = (name: string, poll: number | null) => m.services.create({
    applicationId: app.id, name, gitUrl: `https://git.example.com/${name}.git`, branch: 'main', dockerfile: 'Dockerfile', context: '.',
    buildArgs: {}, repository: `acme/shop.${name}`, gitAuth: { kind: 'none' }, pollIntervalSeconds: poll,
  });
  const web = await svc('web', 1);
  const api = await svc('api', null);
  const heads = new Map<string, string | Error>([[web.id, 'a'.repeat(40)]]);
  const resolved: string[] = [];
  const deployed: DeployRequest[] = [];
  const errors: unknown[] = [];
  const make = () => createPoller({
    metadata: m, tickMs: 60_000,
    resolveHead: async (s: Service) => {
      resolved.push(s.name);
      const h = heads.get(s.id);
      if (h instanceof Error) throw h;
      return h!;
    },
    deploy: async (req) => {
      deployed.push(req);
      return { deploymentId: 'd', status: 'running', builds: [] };
    },
    onError: (err) => errors.push(err),
  });
  return { m, web, api, heads, resolved, deployed, errors, make };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('polls only services with an interval, deploys a new head once, and waits for the interval', async () => {
  const t = await setup();
  const p = t.make();
  await p.tick();
  assert.deepEqual(t.resolved, ['web']);
  assert.equal(t.deployed.length, 1);
  assert.deepEqual({ ...t.deployed[0], account: undefined, app: undefined }, {
    account: undefined, app: undefined, services: ['web'], commit: 'a'.repeat(40), trigger: 'poll', triggeredBy: 'poller',
  });
  await p.tick();
  assert.deepEqual(t.resolved, ['web'], 'not due again before its interval');
  await wait(1100);
  await p.tick();
  assert.equal(t.resolved.length, 2);
  assert.equal(t.deployed.length, 1, 'the same head is not deployed again');
  t.heads.set(t.web.id, 'b'.repeat(40));
  await wait(1100);
  await p.tick();
  assert.equal(t.deployed.length, 2);
  assert.equal(t.deployed[1]!.commit, 'b'.repeat(40));
  const st = await t.m.polls.get(t.web.id);
  assert.equal(st?.lastCommit, 'b'.repeat(40));
  assert.equal(st?.lastError, null);
  await t.m.close();
});

test('a failed ls-remote is recorded and retried at the next turn', async () => {
  const t = await setup();
  const p = t.make();
  t.heads.set(t.web.id, new Error('git host refused the credentials'));
  await p.tick();
  assert.equal(t.deployed.length, 0);
  assert.equal(t.errors.length, 1);
  assert.match((await t.m.polls.get(t.web.id))!.lastError!, /refused the credentials/);
  t.heads.set(t.web.id, 'c'.repeat(40));
  await wait(1100);
  await p.tick();
  assert.equal(t.deployed.length, 1);
  assert.equal((await t.m.polls.get(t.web.id))!.lastError, null);
  await t.m.close();
});

test('two pollers (two nodes) take a due service once', async () => {
  const t = await setup();
  await Promise.all([t.make().tick(), t.make().tick(), t.make().tick()]);
  assert.equal(t.resolved.length, 1);
  assert.equal(t.deployed.length, 1);
  await t.m.close();
});
