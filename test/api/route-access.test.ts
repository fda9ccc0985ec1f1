import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { installRouteAccess, type RouteAccess } from '../../src/api/route-access.ts';
import { installApiErrors } from '../../src/api/errors.ts';
import { registerWeb } from '../../src/app/web.ts';
import type { Metadata } from '../../src/metadata/types.ts';

// Deny by default, on a bare fastify: a route that declares no access never gets registered, and a declared route is
// refused to the wrong caller even when its handler checks nothing at all. (The whole server's table, walked as every
// kind of caller, is test/api/access-walk.test.ts.)

// Only the account and build forms read metadata; these tests use the other forms.
const noMetadata = {} as Metadata;

/** An app whose callers say who they are in x-test-caller (what authenticate.ts decides from a real credential). */
function appWithAccess(): { app: FastifyInstance; list: () => Array<{ method: string; url: string; access: RouteAccess }> } {
  const app = Fastify();
  const table = installRouteAccess(app, { metadata: noMetadata });
  installApiErrors(app);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const who = req.headers['x-test-caller'];
    if (who === 'worker') req.worker = { kind: 'worker', tokenId: 't1', name: 'w' } as unknown as FastifyRequest['worker'];
    if (who === 'user' || who === 'admin') req.principal = { kind: 'user', id: 'u1', email: 'u@x', isAdmin: who === 'admin' } as FastifyRequest['principal'];
  });
  return { app, list: table.list };
}

test('a route that declares no access is refused when it is registered, and the server does not start', async () => {
  const { app } = appWithAccess();
  assert.throws(() => app.get('/forgot', async () => 'secret'), /GET \/forgot declares no access: add config: \{ access:/);
  await app.close();

  // The same in a plugin scope: the error surfaces from start-up.
  const { app: scoped } = appWithAccess();
  void scoped.register(async (s) => {
    s.post('/also-forgot', async () => 'secret');
  }, { prefix: '/api' });
  await assert.rejects(async () => { await scoped.ready(); }, /POST \/api\/also-forgot declares no access/);
  await scoped.close().catch(() => undefined);
});

test('a malformed declaration, or one whose URL cannot name the account, is refused too', async () => {
  const { app } = appWithAccess();
  const bad: Array<[string, unknown]> = [
    ['/a', 'everyone'], ['/b', { account: 'admin' }], ['/c', { account: 'viewer', build: 'viewer' }], ['/d', {}],
    ['/e/:id', { account: 'viewer' }], ['/f/:namespace', { build: 'owner' }],
  ];
  for (const [url, access] of bad) {
    assert.throws(() => app.get(url, { config: { access: access as RouteAccess } }, async () => 'x'), /declares (an unknown access|.* but its URL has no)/, url);
  }
  await app.close();
});

test('the declaration is enforced even when the handler checks nothing (GET and the HEAD fastify adds)', async () => {
  const { app, list } = appWithAccess();
  const open = async () => ({ served: true });
  app.get('/p', { config: { access: 'public' } }, open);
  app.get('/s', { config: { access: 'signedIn' } }, open);
  app.post('/a', { config: { access: 'admin' } }, open);
  app.get('/w', { config: { access: 'worker' } }, open);
  await app.ready();
  const call = async (method: string, url: string, who?: string) =>
    (await app.inject({ method: method as 'GET', url, headers: who ? { 'x-test-caller': who } : {} })).statusCode;
  const expect: Array<[string, string, string | undefined, number]> = [
    ['GET', '/p', undefined, 200], ['HEAD', '/p', undefined, 200],
    ['GET', '/s', undefined, 401], ['HEAD', '/s', undefined, 401], ['GET', '/s', 'worker', 401], ['GET', '/s', 'user', 200],
    ['POST', '/a', undefined, 401], ['POST', '/a', 'worker', 401], ['POST', '/a', 'user', 403], ['POST', '/a', 'admin', 200],
    ['GET', '/w', undefined, 401], ['GET', '/w', 'admin', 401], ['HEAD', '/w', 'user', 401], ['GET', '/w', 'worker', 200],
  ];
  for (const [method, url, who, status] of expect) assert.equal(await call(method, url, who), status, `${method} ${url} as ${who ?? 'anonymous'}`);
  assert.deepEqual(list().map((r) => `${r.method} ${r.url}`).sort(), ['GET /p', 'GET /s', 'GET /w', 'HEAD /p', 'HEAD /s', 'HEAD /w', 'POST /a']);
  await app.close();
});

test("a refused caller is refused before its body is validated: 401, not the validation's 400", async () => {
  const { app } = appWithAccess();
  app.post('/a', { config: { access: 'admin' }, schema: { body: { type: 'object', required: ['name'] } } }, async () => ({ ok: true }));
  await app.ready();
  const r = await app.inject({ method: 'POST', url: '/a', payload: { wrong: 1 } });
  assert.equal(r.statusCode, 401);
  await app.close();
});

test("the dashboard's files are declared public by their registration, and listed", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-access-web-'));
  try {
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    const { app, list } = appWithAccess();
    await registerWeb(app, { dir });
    // Outside that registration, the same app still refuses an undeclared route.
    assert.throws(() => app.get('/later', async () => 'x'), /declares no access/);
    await app.ready();
    assert.equal((await app.inject({ url: '/index.html' })).statusCode, 200);
    const files = list().filter((r) => r.url === '/index.html' || r.url === '/');
    assert.ok(files.length > 0 && files.every((r) => r.access === 'public'), JSON.stringify(list()));
    await app.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
