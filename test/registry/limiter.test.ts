import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, apiCall, basic, type World } from '../support/world.ts';

// The failed-login limiter counts per client address and username: one person's (or one hostile build's) wrong
// passwords never lock anyone else out, and a valid registry credential is never refused. Behind a trusted proxy the
// client address comes from X-Forwarded-For; from anyone else that header is ignored.
let s: TestServer;
let w: World;

before(async () => {
  s = await startTestServer({ loginFailuresPerMinute: 3 });
  w = await makeWorld(s);
});
after(async () => s.stop());

const v2 = (auth: string, xff?: string, srv = s) =>
  fetch(`${srv.url}/v2/`, { headers: { authorization: auth, ...(xff ? { 'x-forwarded-for': xff } : {}) } });
const login = (email: string, password: string, xff?: string, srv = s) =>
  fetch(`${srv.url}/api/v1/auth/login`, {
    method: 'POST', body: JSON.stringify({ email, password }),
    headers: { 'content-type': 'application/json', ...(xff ? { 'x-forwarded-for': xff } : {}) },
  });

test('a dozen wrong passwords for user A refuse neither user B nor A\'s valid credentials', async () => {
  const a = w.acmeOwner.registry;
  const b = w.acmeViewer.registry;
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await v2(basic(a.username, `bgr_wrong${i}`))).status);
  assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
  assert.equal(statuses[11], 429, 'A\'s guesses are throttled');
  const locked = await v2(basic(a.username, 'bgr_wrong-again'));
  assert.equal(locked.status, 429);
  const retryAfter = Number(locked.headers.get('retry-after'));
  assert.equal(retryAfter, ((await locked.json()) as any).errors[0].detail.retryAfterSeconds, 'Retry-After is the real remaining time');
  assert.ok(retryAfter > 0 && retryAfter <= 60);

  assert.equal((await v2(basic(b.username, b.password))).status, 200, 'another user from the same address');
  assert.equal((await v2(basic(a.username, a.password))).status, 200, 'A\'s own valid password');
  const pull = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/tokens', { name: 'limiter' });
  for (let i = 0; i < 5; i++) await v2(basic(pull.body.username, `bgp_wrong${i}`));
  assert.equal((await v2(basic(pull.body.username, pull.body.password))).status, 200, 'a valid pull token');
  for (let i = 0; i < 5; i++) await v2(basic('admin', `bga_wrong${i}`));
  assert.equal((await v2(basic('admin', w.adminToken))).status, 200, 'a valid API token');
});

test('Retry-After of the dashboard sign-in is the real remaining time too', async () => {
  for (let i = 0; i < 4; i++) await login(w.globexDev.email, `wrong-${i}`);
  const r = await login(w.globexDev.email, 'wrong');
  assert.equal(r.status, 429);
  const seconds = Number(r.headers.get('retry-after'));
  assert.ok(seconds > 0 && seconds <= 60);
  assert.match(((await r.json()) as any).error.message, new RegExp(`try again in ${seconds} s`));
  assert.equal((await login(w.acmeViewer.email, w.acmeViewer.password)).status, 200, 'another user signs in from the same address');
});

test('behind a trusted proxy a locked-out client does not lock out another client; forged hops are ignored', async () => {
  const p = await startTestServer({ loginFailuresPerMinute: 3, trustProxy: ['127.0.0.1/32', '10.0.0.0/8'] });
  try {
    const pw = await makeWorld(p);
    const shared = 'nobody-shared';
    for (let i = 0; i < 5; i++) await v2(basic(shared, `bgr_x${i}`), '203.0.113.7', p);
    assert.equal((await v2(basic(shared, 'bgr_x'), '203.0.113.7', p)).status, 429, 'the guesser is throttled');
    assert.equal((await v2(basic(shared, 'bgr_x'), '198.51.100.9', p)).status, 401, 'another client is not');
    // The right-most address that is not a trusted proxy is the client: a hop the client wrote itself counts for nothing.
    assert.equal((await v2(basic(shared, 'bgr_x'), '198.51.100.9, 203.0.113.7', p)).status, 429);
    assert.equal((await v2(basic(shared, 'bgr_x'), '203.0.113.7, 10.1.2.3', p)).status, 429, 'trusted hops are skipped');

    const email = pw.globexDev.email;
    for (let i = 0; i < 5; i++) await login(email, `wrong-${i}`, '203.0.113.7', p);
    assert.equal((await login(email, pw.globexDev.password, '203.0.113.7', p)).status, 429);
    assert.equal((await login(email, pw.globexDev.password, '198.51.100.9', p)).status, 200, 'the same user from another client');
  } finally {
    await p.stop();
  }
});

test('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
  const shared = 'nobody-untrusted';
  for (let i = 0; i < 5; i++) await v2(basic(shared, `bgr_x${i}`), `203.0.113.${i}`);
  assert.equal((await v2(basic(shared, 'bgr_x'), '198.51.100.9')).status, 429, 'a new header does not make a new client');
  for (let i = 0; i < 5; i++) await login(w.acmeViewer.email, `wrong-${i}`, `203.0.113.${i}`);
  assert.equal((await login(w.acmeViewer.email, w.acmeViewer.password, '198.51.100.9')).status, 429);
});

test('trustProxy must be a list of addresses or CIDRs', async () => {
  await assert.rejects(startTestServer({ trustProxy: ['not-an-address'] }), /trustProxy/);
});
