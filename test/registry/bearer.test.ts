import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { loadConfig } from '../../src/config/load.ts';
import { startServer } from '../../src/app/server.ts';
import { startTestServer, ADMIN, type TestServer } from '../support/server.ts';
import { makeWorld, adminClient, apiCall, pushRandomImage, basic, login, type World } from '../support/world.ts';

// Bearer tokens are only as good as the credential they came from: revoking, expiring or rotating it, or removing
// the user from the account, stops tokens already issued at the next request. The catalog honours a token's scope;
// only an administrator's API token is a registry password; the signing key is sealed with the server key.
let s: TestServer;
let w: World;

before(async () => {
  s = await startTestServer();
  w = await makeWorld(s);
  const c = adminClient(s, w.adminToken);
  await pushRandomImage(c, 'acme/app.web', 'v1');
  await pushRandomImage(c, 'acme/app.api', 'v1');
  await pushRandomImage(c, 'globex/shop.web', 'v1');
});
after(async () => s.stop());

const v2 = (path: string, auth: string, srv = s) => fetch(`${srv.url}/v2/${path}`, { headers: { authorization: auth } });

async function tokenFor(user: string, pass: string, scope: string, srv = s): Promise<string> {
  const r = await fetch(`${srv.url}/v2/token?service=${encodeURIComponent(srv.host)}&scope=${encodeURIComponent(scope)}`, { headers: { authorization: basic(user, pass) } });
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as { token: string }).token;
}

const PULL_WEB = 'repository:acme/app.web:pull';

test('a revoked pull token\'s bearer token is refused at the next request', async () => {
  const t = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/tokens', { name: 'bearer-revoke' });
  const bearer = await tokenFor(t.body.username, t.body.password, PULL_WEB);
  assert.equal((await v2('acme/app.web/manifests/v1', `Bearer ${bearer}`)).status, 200);
  assert.equal((await apiCall(s, w.acmeOwner.token, 'DELETE', `/accounts/acme/tokens/${t.body.id}`)).status, 200);
  const r = await v2('acme/app.web/manifests/v1', `Bearer ${bearer}`);
  assert.equal(r.status, 401);
  assert.match(((await r.json()) as any).errors[0].message, /revoked|expired|rotated/);
});

test('a rotated registry password\'s bearer token is refused at the next request', async () => {
  const p = w.acmeViewer;
  const bearer = await tokenFor(p.registry.username, p.registry.password, PULL_WEB);
  assert.equal((await v2('acme/app.web/manifests/v1', `Bearer ${bearer}`)).status, 200);
  const rotated = await apiCall(s, p.token, 'POST', '/credentials/rotate');
  p.registry = rotated.body;
  assert.equal((await v2('acme/app.web/manifests/v1', `Bearer ${bearer}`)).status, 401);
  const fresh = await tokenFor(p.registry.username, p.registry.password, PULL_WEB);
  assert.equal((await v2('acme/app.web/manifests/v1', `Bearer ${fresh}`)).status, 200);
});

test('a user removed from the account loses what their bearer token granted', async () => {
  const email = 'leaver@acme.test';
  const created = await apiCall(s, w.adminToken, 'POST', '/users', { email, password: 'leaver-password', account: 'acme', role: 'viewer' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const token = await login(s, email, 'leaver-password');
  const creds = (await apiCall(s, token, 'GET', '/credentials')).body;
  const bearer = await tokenFor(creds.username, creds.password, `${PULL_WEB} registry:catalog:*`);
  assert.equal((await v2('acme/app.web/manifests/v1', `Bearer ${bearer}`)).status, 200);
  const me = await apiCall(s, token, 'GET', '/me');
  assert.equal((await apiCall(s, w.acmeOwner.token, 'DELETE', `/accounts/acme/members/${me.body.id}`)).status < 300, true);
  assert.notEqual((await v2('acme/app.web/manifests/v1', `Bearer ${bearer}`)).status, 200);
  assert.deepEqual(((await (await v2('_catalog', `Bearer ${bearer}`)).json()) as any).repositories, []);
});

test('an unsigned (alg none) token claiming to be an administrator is refused over HTTP', async () => {
  const real = await tokenFor(w.acmeViewer.registry.username, w.acmeViewer.registry.password, PULL_WEB);
  const claims = JSON.parse(Buffer.from(real.split('.')[1]!, 'base64url').toString());
  claims.principal.isAdmin = true;
  claims.access = [{ type: 'repository', name: 'globex/shop.web', actions: ['pull', 'push', 'delete'] }];
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  for (const forged of [`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`, `${b64({ alg: 'none' })}.${b64(claims)}.${real.split('.')[2]}`]) {
    assert.equal((await v2('globex/shop.web/manifests/v1', `Bearer ${forged}`)).status, 401);
  }
});

test('the catalog honours the bearer token: a limited pull token lists only its repositories', async () => {
  const t = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/tokens', { name: 'catalog-one', repositories: ['acme/app.web'] });
  const bearer = await tokenFor(t.body.username, t.body.password, 'registry:catalog:*');
  assert.deepEqual(((await (await v2('_catalog', `Bearer ${bearer}`)).json()) as any).repositories, ['acme/app.web']);
  const viewer = await tokenFor(w.acmeViewer.registry.username, w.acmeViewer.registry.password, 'registry:catalog:*');
  assert.deepEqual(((await (await v2('_catalog', `Bearer ${viewer}`)).json()) as any).repositories, ['acme/app.api', 'acme/app.web']);
  const g = await tokenFor(w.globexDev.registry.username, w.globexDev.registry.password, 'registry:catalog:*');
  assert.deepEqual(((await (await v2('_catalog', `Bearer ${g}`)).json()) as any).repositories, ['globex/shop.web']);
  // A token that was not granted the catalog does not list it.
  const repoOnly = await tokenFor(w.acmeViewer.registry.username, w.acmeViewer.registry.password, PULL_WEB);
  const r = await v2('_catalog', `Bearer ${repoOnly}`);
  assert.equal(r.status, 401);
  assert.match(r.headers.get('www-authenticate')!, /scope="registry:catalog:\*",error="insufficient_scope"/);
});

test('only an administrator\'s API token is a registry password', async () => {
  for (const p of [w.acmeOwner, w.acmeViewer, w.globexDev]) {
    const r = await v2('acme/app.web/manifests/v1', basic(p.email, p.token));
    assert.equal(r.status, 401, p.email);
    assert.match(((await r.json()) as any).errors[0].message, /administrator/);
    const t = await fetch(`${s.url}/v2/token?service=${encodeURIComponent(s.host)}&scope=${PULL_WEB}`, { headers: { authorization: basic('x', p.token) } });
    assert.equal(t.status, 401);
  }
  assert.equal((await v2('acme/app.web/manifests/v1', basic('admin', w.adminToken))).status, 200);
});

test('a plain signing key is sealed on start, and a restarted server accepts tokens it issued before', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'bg-keys-'));
  const start = async (port: number) => startServer(loadConfig({
    env: {}, overrides: { port, host: '127.0.0.1', dataDir, publicUrl: `http://127.0.0.1:${port}`, adminEmail: ADMIN.email, adminPassword: ADMIN.password, logLevel: 'silent', buildConcurrency: 0 },
  }), { logger: pino({ level: 'silent' }) });
  let server = await start(0);
  try {
    const port = server.port;
    await server.close();
    server = await start(port); // the public URL (the tokens' issuer) must name the port
    // What an older BuildGrid left in the database: the private key as plain JSON.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const legacy = { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: 'ES256', use: 'sig' };
    await server.metadata.settings.setIfAbsent('registry.jwk', JSON.stringify(legacy));

    const srv = { url: server.url, host: `127.0.0.1:${port}` } as TestServer;
    const adminToken = await login(srv, ADMIN.email, ADMIN.password);
    const bearer = await tokenFor('admin', adminToken, 'registry:catalog:*', srv);
    assert.equal(JSON.parse(Buffer.from(bearer.split('.')[0]!, 'base64url').toString()).kid, legacy.kid, 'the old key is kept');
    const stored = await server.metadata.settings.get('registry.jwk.sealed');
    assert.ok(stored !== null && stored.startsWith("v1."), "sealed");
    assert.ok(!stored.includes(legacy.d!) && !stored.includes('"d"'), 'the private key is not readable in the database');
    assert.equal(await server.metadata.settings.get('registry.jwk'), null, 'the plain copy is gone');

    await server.close();
    server = await start(port);
    assert.equal((await v2('_catalog', `Bearer ${bearer}`, srv)).status, 200);
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
