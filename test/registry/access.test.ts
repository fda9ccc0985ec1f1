import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, adminClient, pushRandomImage, basic, apiCall, type World, type PushedImage } from '../support/world.ts';
import { READ_ONLY_MESSAGE } from '../../src/registry/errors.ts';

// Who may do what on /v2: tenants are isolated, the registry is read-only for people and pull tokens.
let s: TestServer;
let w: World;
let img: PushedImage;

before(async () => {
  s = await startTestServer();
  w = await makeWorld(s);
  const c = adminClient(s, w.adminToken);
  img = await pushRandomImage(c, 'acme/app.web', 'v1');
  await pushRandomImage(c, 'acme/app.api', 'v1');
  await pushRandomImage(c, 'globex/shop.web', 'v1');
});
after(async () => s.stop());

const get = (path: string, auth?: string, init: RequestInit = {}) =>
  fetch(`${s.url}/v2/${path}`, { ...init, headers: { ...(auth ? { authorization: auth } : {}), ...(init.headers as object) } });

async function tokenFor(user: string, pass: string, scope: string): Promise<{ token: string; status: number }> {
  const r = await fetch(`${s.url}/v2/token?service=${encodeURIComponent(s.host)}&scope=${encodeURIComponent(scope)}`, { headers: { authorization: basic(user, pass) } });
  const j = (await r.json()) as { token: string };
  return { token: j.token, status: r.status };
}

test('anonymous requests get 401 with a Bearer challenge naming realm, service and scope', async () => {
  const base = await get('');
  assert.equal(base.status, 401);
  assert.equal(base.headers.get('www-authenticate'), `Bearer realm="${s.url}/v2/token",service="${s.host}"`);
  const m = await get('acme/app.web/manifests/v1');
  assert.equal(m.status, 401);
  assert.equal(m.headers.get('www-authenticate'), `Bearer realm="${s.url}/v2/token",service="${s.host}",scope="repository:acme/app.web:pull"`);
  assert.equal(((await m.json()) as any).errors[0].code, 'UNAUTHORIZED');
  const tok = await fetch(`${s.url}/v2/token?service=${s.host}&scope=repository:acme/app.web:pull`);
  assert.equal(tok.status, 401);
});

test('a viewer pulls their account\'s images with Basic auth and with the token flow', async () => {
  const v = w.acmeViewer.registry;
  assert.equal((await get('acme/app.web/manifests/v1', basic(v.username, v.password))).status, 200);
  const { token } = await tokenFor(v.username, v.password, 'repository:acme/app.web:pull');
  const r = await get(`acme/app.web/blobs/${img.layers[0]!.digest}`, `Bearer ${token}`);
  assert.equal(r.status, 200);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), img.layers[0]!.bytes);
});

test('another account cannot pull, list or learn of the existence of acme\'s repositories', async () => {
  const g = w.globexDev.registry;
  const auth = basic(g.username, g.password);
  const existing = await get('acme/app.web/manifests/v1', auth);
  const missing = await get('acme/no-such-repo/manifests/v1', auth);
  assert.equal(existing.status, 404);
  assert.equal(missing.status, existing.status);
  assert.deepEqual(((await existing.json()) as any).errors[0].code, ((await missing.json()) as any).errors[0].code);
  assert.equal((await get('acme/app.web/tags/list', auth)).status, 404);
  assert.equal((await get(`acme/app.web/blobs/${img.layers[0]!.digest}`, auth)).status, 404);
  const cat = (await (await get('_catalog', auth)).json()) as any;
  assert.deepEqual(cat.repositories, ['globex/shop.web']);
  // Token flow: the token grants nothing on acme, so the request is challenged, existing or not.
  const { token } = await tokenFor(g.username, g.password, 'repository:acme/app.web:pull');
  const t1 = await get('acme/app.web/manifests/v1', `Bearer ${token}`);
  const t2 = await get('acme/no-such-repo/manifests/v1', `Bearer ${token}`);
  assert.equal(t1.status, 401);
  assert.equal(t2.status, 401);
  assert.match(t1.headers.get('www-authenticate')!, /error="insufficient_scope"/);
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
  assert.deepEqual(payload.access, []);
});

test('people cannot push: DENIED with the read-only message, Basic and token flow alike', async () => {
  for (const p of [w.acmeViewer, w.acmeOwner]) {
    const r = await get('acme/app.web/blobs/uploads/', basic(p.registry.username, p.registry.password), { method: 'POST' });
    assert.equal(r.status, 403);
    const e = ((await r.json()) as any).errors[0];
    assert.equal(e.code, 'DENIED');
    assert.equal(e.message, READ_ONLY_MESSAGE);
    const { token } = await tokenFor(p.registry.username, p.registry.password, 'repository:acme/app.web:pull,push');
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(payload.access, [{ type: 'repository', name: 'acme/app.web', actions: ['pull'] }]);
    const put = await get('acme/app.web/manifests/v2', `Bearer ${token}`, { method: 'PUT', body: new Uint8Array(img.manifest), headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(put.status, 403);
    const del = await get(`acme/app.web/manifests/${img.manifestDigest}`, `Bearer ${token}`, { method: 'DELETE' });
    assert.equal(del.status, 403);
  }
  assert.equal((await get('acme/app.web/manifests/v1', basic('admin', w.adminToken))).status, 200, 'still there');
});

test('a rotated registry password stops working at once; the dashboard password never works on /v2', async () => {
  const p = w.acmeOwner;
  const old = p.registry;
  assert.equal((await get('', basic(old.username, old.password))).status, 200);
  const rotated = await apiCall<{ username: string; password: string }>(s, p.token, 'POST', '/credentials/rotate');
  assert.notEqual(rotated.body.password, old.password);
  assert.equal((await get('', basic(old.username, old.password))).status, 401);
  assert.equal((await tokenFor(old.username, old.password, 'repository:acme/app.web:pull')).status, 401);
  assert.equal((await get('acme/app.web/manifests/v1', basic(rotated.body.username, rotated.body.password))).status, 200);
  assert.equal((await get('', basic(p.email, p.password))).status, 401);
  p.registry = rotated.body;
});

test('pull tokens: pull only, limited to their repositories, revocable, expiring', async () => {
  const owner = w.acmeOwner.token;
  const all = await apiCall(s, owner, 'POST', '/accounts/acme/tokens', { name: 'ci' });
  assert.equal(all.status, 201);
  const allAuth = basic(all.body.username, all.body.password);
  assert.equal((await get('acme/app.web/manifests/v1', allAuth)).status, 200);
  assert.equal((await get('acme/app.api/manifests/v1', allAuth)).status, 200);
  assert.equal((await get('globex/shop.web/manifests/v1', allAuth)).status, 404);
  assert.equal((await get('acme/app.web/blobs/uploads/', allAuth, { method: 'POST' })).status, 403);

  const limited = await apiCall(s, owner, 'POST', '/accounts/acme/tokens', { name: 'k8s-web', repositories: ['acme/app.web'] });
  const limAuth = basic(limited.body.username, limited.body.password);
  assert.equal((await get('acme/app.web/manifests/v1', limAuth)).status, 200);
  assert.equal((await get('acme/app.api/manifests/v1', limAuth)).status, 404);
  const cat = (await (await get('_catalog', limAuth)).json()) as any;
  assert.deepEqual(cat.repositories, ['acme/app.web']);

  const revoked = await apiCall(s, owner, 'DELETE', `/accounts/acme/tokens/${all.body.id}`);
  assert.equal(revoked.status, 200);
  assert.ok(revoked.body.revokedAt);
  assert.equal((await get('acme/app.web/manifests/v1', allAuth)).status, 401);

  const shortLived = await apiCall(s, owner, 'POST', '/accounts/acme/tokens', { name: 'brief', expiresAt: new Date(Date.now() + 1500).toISOString() });
  const slAuth = basic(shortLived.body.username, shortLived.body.password);
  assert.equal((await get('acme/app.web/manifests/v1', slAuth)).status, 200);
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await get('acme/app.web/manifests/v1', slAuth)).status, 401);

  const list = await apiCall<any[]>(s, owner, 'GET', '/accounts/acme/tokens');
  assert.equal(list.body.length, 3);
  assert.ok(list.body.every((t) => !('password' in t)), 'passwords are shown once, never listed');
  const viewerTry = await apiCall(s, w.acmeViewer.token, 'POST', '/accounts/acme/tokens', { name: 'x' });
  assert.equal(viewerTry.status, 403);
  const otherTry = await apiCall(s, w.globexDev.token, 'GET', '/accounts/acme/tokens');
  assert.equal(otherTry.status, 404);
});

test('repeated failed logins from one source are refused for a while', async () => {
  const s2 = await startTestServer({ loginFailuresPerMinute: 3 });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${s2.url}/v2/`, { headers: { authorization: basic('nobody', `wrong${i}`) } })).status);
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
    assert.equal(statuses[4], 429);
    const r = await fetch(`${s2.url}/v2/token?service=${s2.host}`, { headers: { authorization: basic('nobody', 'x') } });
    assert.equal(r.status, 429);
    assert.ok(r.headers.get('retry-after'));
  } finally {
    await s2.stop();
  }
});
