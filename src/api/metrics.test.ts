import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../test/support/server.ts';
import { apiCall, makeWorld, type World } from '../../test/support/world.ts';
import { loadConfig } from '../config/load.ts';

// GET /metrics names every route, the traffic per repository route and the process's memory: on the main port only an
// administrator reads it (a build's RUN step, a tenant, anyone on the network must not); with metricsHost it moves to a
// separate listener the operator keeps private, and the main port stops serving it.

let s: TestServer;
let w: World;

before(async () => {
  s = await startTestServer({ buildConcurrency: 0 });
  w = await makeWorld(s);
});
after(async () => {
  await s?.stop();
});

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

test('anonymous and non-administrators are refused /metrics on the main port', async () => {
  const anon = await get(`${s.url}/metrics`);
  assert.equal(anon.status, 401);
  const body = await anon.text();
  assert.doesNotMatch(body, /buildgrid_http_requests_total/);
  assert.match(JSON.parse(body).error.message, /administrator's API token.*metricsHost/);
  for (const p of [w.acmeOwner, w.acmeViewer, w.globexDev]) {
    const r = await get(`${s.url}/metrics`, { authorization: `Bearer ${p.token}` });
    assert.equal(r.status, 403, p.email);
    assert.doesNotMatch(await r.text(), /buildgrid_/);
  }
  // A registry password or a pull token is no way in either.
  assert.equal((await get(`${s.url}/metrics`, { authorization: `Basic ${Buffer.from(`${w.acmeOwner.registry.username}:${w.acmeOwner.registry.password}`).toString('base64')}` })).status, 401);
  assert.equal((await get(`${s.url}/metrics`, { authorization: 'Bearer bga_not-a-token' })).status, 401);
});

test("an administrator's API token or dashboard session reads /metrics", async () => {
  const r = await get(`${s.url}/metrics`, { authorization: `Bearer ${w.adminToken}` });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /text\/plain/);
  assert.match(await r.text(), /buildgrid_http_requests_total/);
  const signIn = await fetch(`${s.url}/api/v1/auth/session`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: s.url }, body: JSON.stringify({ email: 'admin@test.local', password: 'admin-password-123' }),
  });
  const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0]!;
  assert.equal((await get(`${s.url}/metrics`, { cookie })).status, 200);
});

test('with metricsHost, a separate listener serves /metrics and the main port does not', async () => {
  const m = await startTestServer({ buildConcurrency: 0, metricsHost: '127.0.0.1:0' });
  try {
    assert.ok(m.metricsUrl, 'the server reports where metrics are served');
    assert.notEqual(new URL(m.metricsUrl).port, String(m.port));
    const side = await get(`${m.metricsUrl}/metrics`);
    assert.equal(side.status, 200);
    assert.match(await side.text(), /buildgrid_http_requests_total/);
    assert.equal((await get(`${m.metricsUrl}/api/v1/me`)).status, 404, 'the metrics listener serves nothing else');
    const adminToken = (await apiCall(m, null, 'POST', '/auth/login', { email: 'admin@test.local', password: 'admin-password-123' })).body.token;
    const main = await get(`${m.url}/metrics`, { authorization: `Bearer ${adminToken}` });
    assert.equal(main.status, 404);
    assert.doesNotMatch(await main.text(), /buildgrid_/);
  } finally {
    await m.stop();
  }
});

test('a bad metricsHost is refused with the expected form', async () => {
  for (const metricsHost of ['9100', 'localhost', 'http://127.0.0.1:9100', '127.0.0.1:9100/metrics']) {
    assert.throws(() => loadConfig({ env: {}, overrides: { metricsHost } }), /metricsHost.*host:port/, metricsHost);
  }
  assert.equal(loadConfig({ env: {}, overrides: { metricsHost: '[::1]:9100' } }).metricsHost, '[::1]:9100');
});
