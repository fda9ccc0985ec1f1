import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, apiCall, type World } from '../support/world.ts';
import { buildInput, seed } from '../../src/metadata/suite-fixtures.ts';

// Worker tokens: administrators create and revoke them; a worker token reaches /api/v1/worker/* and nothing else
// (neither the user API nor the registry); a person's token cannot act as a worker.
let s: TestServer;
let w: World;
let token: string;
let tokenId: string;

before(async () => {
  s = await startTestServer({ buildConcurrency: 0 });
  w = await makeWorld(s);
  const r = await apiCall(s, w.adminToken, 'POST', '/admin/worker-tokens', { name: 'builder-1' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  token = r.body.token;
  tokenId = r.body.workerToken.id;
  assert.match(token, /^bgw_/);
});
after(async () => { await s.stop(); });

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

test('only administrators manage worker tokens', async () => {
  assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/admin/worker-tokens', { name: 'x' })).status, 403);
  assert.equal((await apiCall(s, w.acmeOwner.token, 'GET', '/admin/worker-tokens')).status, 403);
  assert.equal((await apiCall(s, token, 'GET', '/admin/worker-tokens')).status, 401);
  const list = await apiCall(s, w.adminToken, 'GET', '/admin/worker-tokens');
  assert.equal(list.status, 200);
  assert.ok(list.body.some((t: any) => t.id === tokenId && t.name === 'builder-1' && !('tokenHash' in t)));
});

test('a worker token cannot use the user API', async () => {
  for (const path of ['/accounts', '/me', '/credentials']) {
    assert.equal((await apiCall(s, token, 'GET', path)).status, 401, path);
  }
  assert.equal((await apiCall(s, token, 'POST', '/accounts', { name: 'evil' })).status, 401);
});

test('a worker token cannot pull images or get registry tokens', async () => {
  const v2 = await fetch(`${s.url}/v2/`, { headers: { authorization: basic('worker', token) } });
  assert.equal(v2.status, 401);
  const tok = await fetch(`${s.url}/v2/token?service=${encodeURIComponent(s.host)}&scope=repository:acme/app.web:pull`, { headers: { authorization: basic('worker', token) } });
  assert.equal(tok.status, 401);
  const manifest = await fetch(`${s.url}/v2/acme/app.web/manifests/latest`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(manifest.status, 401);
});

test('a user token cannot claim builds; a worker token can, and reports only on builds it claimed', async () => {
  assert.equal((await apiCall(s, w.adminToken, 'POST', '/worker/claim', { worker: 'h/0' })).status, 401);
  assert.equal((await apiCall(s, null, 'POST', '/worker/claim', { worker: 'h/0' })).status, 401);
  const claim = await apiCall(s, token, 'POST', '/worker/claim', { worker: 'h/0' });
  assert.equal(claim.status, 200);
  assert.equal(claim.body.build, null, 'nothing is queued');
  assert.equal((await apiCall(s, token, 'POST', '/worker/builds/nope/log', { worker: 'h/0', lines: [{ text: 'x' }] })).status, 404);
  assert.equal((await apiCall(s, token, 'POST', '/worker/builds/nope/context', { worker: 'h/0' })).status, 404);
  const cfg = await apiCall(s, token, 'GET', '/worker/config');
  assert.equal(cfg.status, 200);
  assert.equal(cfg.body.registry.host, s.host);
});

test('a revoked worker token is refused at once', async () => {
  const r = await apiCall(s, w.adminToken, 'POST', '/admin/worker-tokens', { name: 'short-lived' });
  assert.equal((await apiCall(s, r.body.token, 'POST', '/worker/claim', { worker: 'h/0' })).status, 200);
  assert.equal((await apiCall(s, w.adminToken, 'DELETE', `/admin/worker-tokens/${r.body.workerToken.id}`)).status, 204);
  assert.equal((await apiCall(s, r.body.token, 'POST', '/worker/claim', { worker: 'h/0' })).status, 401);
  assert.equal((await apiCall(s, w.adminToken, 'DELETE', `/admin/worker-tokens/${r.body.workerToken.id}`)).status, 404);
});

test('a log append a worker retries (same batch name) is stored once', async () => {
  const seeded = await seed(s.metadata, 'wlog');
  const queued = await s.metadata.builds.create(buildInput(seeded));
  const claim = await apiCall(s, token, 'POST', '/worker/claim', { worker: 'h/1' });
  assert.equal(claim.status, 200);
  assert.equal(claim.body.build?.id, queued.id);
  const append = (lines: string[], batch?: string) =>
    apiCall(s, token, 'POST', `/worker/builds/${queued.id}/log`, { worker: 'h/1', lines: lines.map((text) => ({ text })), ...(batch ? { batch } : {}) });
  assert.equal((await append(['compiling', 'linking'], 'b-0001-retry')).status, 200);
  assert.equal((await append(['compiling', 'linking'], 'b-0001-retry')).status, 200, 'the retry is accepted');
  assert.equal((await append(['done'], 'b-0002-next')).status, 200);
  assert.equal((await append(['x'], 'bad name!')).status, 400, 'batch names are checked');
  const log = await apiCall(s, w.adminToken, 'GET', `/builds/${queued.id}/log`);
  assert.equal(log.status, 200);
  assert.deepEqual(log.body.lines.map((l: any) => [l.n, l.text]), [[1, 'compiling'], [2, 'linking'], [3, 'done']]);
  assert.ok(log.body.lines.every((l: any) => !('b' in l)));
});
