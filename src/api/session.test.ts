import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../../test/support/server.ts';
import { apiCall, makeWorld, type World } from '../../test/support/world.ts';

// The dashboard's cookie session against a real server over real HTTP: the cookie's attributes, cross-site request
// forgery (a form on another origin posting with the victim's cookie), the CSRF token, sign-out that revokes the session
// on the server, sign-in forgery, and that API clients with a bearer token are untouched.

let s: TestServer;
let w: World;
const EVIL = 'http://evil.example';

before(async () => {
  s = await startTestServer({ buildConcurrency: 0 }); // no builds here: no engine self-check running at stop()
  w = await makeWorld(s);
  assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'shop' })).status, 201);
});
after(async () => {
  await s?.stop();
});

interface Session { cookie: string; setCookie: string; csrf: string; body: any }

/** Signs in as the dashboard does (from the server's own origin); the cookie as a browser would send it back. */
async function signIn(email: string, password: string): Promise<Session> {
  const res = await fetch(`${s.url}/api/v1/auth/session`, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: s.url }, body: JSON.stringify({ email, password }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const setCookie = res.headers.get('set-cookie') ?? '';
  const body = await res.json() as any;
  return { cookie: setCookie.split(';')[0]!, setCookie, csrf: body.csrfToken, body };
}

/** What a page posts with the browser's cookie: a text/plain form (no preflight, no JSON needed) by default. */
async function post(path: string, headers: Record<string, string>, body = ''): Promise<Response> {
  return fetch(`${s.url}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body });
}

const registryPassword = async () => (await apiCall(s, w.acmeOwner.token, 'GET', '/credentials')).body.password as string;

test('sign-in sets an HttpOnly, SameSite=Strict session cookie and answers no token', async () => {
  const r = await signIn(w.acmeOwner.email, w.acmeOwner.password);
  assert.match(r.cookie, /^buildgrid_session=bga_/);
  const attrs = r.setCookie.split(';').map((a) => a.trim().toLowerCase());
  assert.ok(attrs.includes('httponly'), r.setCookie);
  assert.ok(attrs.includes('samesite=strict'), r.setCookie);
  assert.ok(attrs.includes('path=/'), r.setCookie);
  assert.ok(!attrs.includes('secure'), 'plain http: not Secure (the browser would drop it)');
  assert.ok(attrs.some((a) => a.startsWith('expires=')), 'lives as long as the API token');
  assert.doesNotMatch(JSON.stringify(r.body), /bga_/, 'the token is in the cookie only');
  assert.deepEqual(Object.keys(r.body).sort(), ['csrfToken', 'user']);
  const me = await fetch(`${s.url}/api/v1/me`, { headers: { cookie: r.cookie } });
  assert.equal(me.status, 200);
  assert.equal(((await me.json()) as any).email, w.acmeOwner.email);
  const again = await fetch(`${s.url}/api/v1/auth/session`, { headers: { cookie: r.cookie } });
  assert.equal(((await again.json()) as any).csrfToken, r.csrf, 'the page gets the same CSRF token after a reload');
  assert.equal(again.headers.get('cache-control'), 'no-store', 'no cache keeps a session answer');
});

test('a cross-site form POST with the session cookie but without the CSRF token is refused', async () => {
  const r = await signIn(w.acmeOwner.email, w.acmeOwner.password);
  const before = await registryPassword();
  // Another site's auto-submitting <form method=post enctype=text/plain action=…/credentials/rotate>.
  const forged = await post('/credentials/rotate', { cookie: r.cookie, origin: EVIL, 'sec-fetch-site': 'cross-site' });
  assert.equal(forged.status, 403);
  assert.match(((await forged.json()) as any).error.message, /cross-site request refused/);
  // The same without an Origin (a client that hides it), from the server's own origin, or with a wrong token.
  const attempts: Array<Record<string, string>> = [{}, { origin: s.url }, { origin: s.url, 'x-csrf-token': `${r.csrf.slice(0, -2)}xx` }];
  for (const headers of attempts) {
    const res = await post('/credentials/rotate', { cookie: r.cookie, ...headers });
    assert.equal(res.status, 403, JSON.stringify(headers));
    assert.match(((await res.json()) as any).error.message, /CSRF token/);
  }
  // A CSRF token of another session does not fit this one.
  const other = await signIn(w.acmeViewer.email, w.acmeViewer.password);
  assert.equal((await post('/credentials/rotate', { cookie: r.cookie, origin: s.url, 'x-csrf-token': other.csrf })).status, 403);
  // DELETE and PUT are guarded the same way.
  const del = await fetch(`${s.url}/api/v1/accounts/acme/members/${encodeURIComponent('nobody')}`, { method: 'DELETE', headers: { cookie: r.cookie, origin: s.url } });
  assert.equal(del.status, 403);
  assert.equal(await registryPassword(), before, 'nothing was rotated');
});

test('with the valid CSRF token from its own origin, the dashboard session works', async () => {
  const r = await signIn(w.acmeOwner.email, w.acmeOwner.password);
  const before = await registryPassword();
  const ok = await post('/credentials/rotate', { cookie: r.cookie, origin: s.url, 'x-csrf-token': r.csrf });
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.notEqual(await registryPassword(), before);
  // The page at another address of this server (Host = Origin) works too, e.g. http://127.0.0.1:… when publicUrl says localhost.
  const host = new URL(s.url).host;
  const viaHost = await post('/credentials/rotate', { cookie: r.cookie, origin: `http://${host}`, host, 'x-csrf-token': r.csrf });
  assert.equal(viaHost.status, 200);
});

test('bearer-token clients need no CSRF token; GET with the cookie needs none', async () => {
  const res = await post('/credentials/rotate', { authorization: `Bearer ${w.acmeOwner.token}` });
  assert.equal(res.status, 200);
  const r = await signIn(w.acmeOwner.email, w.acmeOwner.password);
  assert.equal((await fetch(`${s.url}/api/v1/accounts`, { headers: { cookie: r.cookie } })).status, 200);
});

test('live events (Server-Sent Events) follow with the cookie alone', async () => {
  const r = await signIn(w.acmeOwner.email, w.acmeOwner.password);
  const ctrl = new AbortController();
  const res = await fetch(`${s.url}/api/v1/accounts/acme/apps/shop/events`, { headers: { cookie: r.cookie, accept: 'text/event-stream' }, signal: ctrl.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const first = await res.body!.getReader().read();
  assert.match(new TextDecoder().decode(first.value), /: connected/);
  ctrl.abort();
  const anon = await fetch(`${s.url}/api/v1/accounts/acme/apps/shop/events`, { headers: { accept: 'text/event-stream' } });
  assert.equal(anon.status, 401);
});

test('sign-out revokes the session on the server and clears the cookie', async () => {
  const r = await signIn(w.acmeOwner.email, w.acmeOwner.password);
  const forged = await post('/auth/logout', { cookie: r.cookie, origin: EVIL });
  assert.equal(forged.status, 403, 'another site cannot sign the user out');
  const out = await post('/auth/logout', { cookie: r.cookie, origin: s.url, 'x-csrf-token': r.csrf });
  assert.equal(out.status, 200);
  assert.match(out.headers.get('set-cookie') ?? '', /^buildgrid_session=;.*Max-Age=0/i);
  // A copy of the cookie kept elsewhere is worthless now, and is removed when presented.
  const me = await fetch(`${s.url}/api/v1/me`, { headers: { cookie: r.cookie } });
  assert.equal(me.status, 401);
  assert.match(me.headers.get('set-cookie') ?? '', /Max-Age=0/);
  // The CLI's tokens are not affected.
  assert.equal((await apiCall(s, w.acmeOwner.token, 'GET', '/me')).status, 200);
});

test('another site cannot sign the browser in (login forgery); the CLI login is unchanged', async () => {
  for (const path of ['/auth/session', '/auth/login']) {
    const res = await fetch(`${s.url}/api/v1${path}`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: EVIL }, body: JSON.stringify({ email: w.acmeOwner.email, password: w.acmeOwner.password }),
    });
    assert.equal(res.status, 403, path);
    assert.equal(res.headers.get('set-cookie'), null);
  }
  const cli = await apiCall(s, null, 'POST', '/auth/login', { email: w.acmeOwner.email, password: w.acmeOwner.password });
  assert.equal(cli.status, 200);
  assert.match(cli.body.token, /^bga_/);
});

test('behind https the cookie is Secure and __Host- prefixed', async () => {
  const https = await startTestServer({ publicUrl: 'https://buildgrid.test', buildConcurrency: 0 });
  try {
    const res = await fetch(`${https.url}/api/v1/auth/session`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://buildgrid.test' }, body: JSON.stringify({ email: 'admin@test.local', password: 'admin-password-123' }),
    });
    assert.equal(res.status, 200);
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^__Host-buildgrid_session=bga_/);
    assert.match(setCookie, /; Secure(;|$)/);
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
    // The plain-http cookie name is not read there (it could have been set by a neighbour on plain http).
    const token = setCookie.split(';')[0]!.split('=')[1]!;
    assert.equal((await fetch(`${https.url}/api/v1/me`, { headers: { cookie: `buildgrid_session=${token}` } })).status, 401);
    assert.equal((await fetch(`${https.url}/api/v1/me`, { headers: { cookie: `__Host-buildgrid_session=${token}` } })).status, 200);
  } finally {
    await https.stop();
  }
});
