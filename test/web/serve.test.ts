import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerWeb } from '../../src/app/web.ts';

// How the server serves the dashboard: files, SPA fallback for deep links, caching, and what it says when unbuilt.
let dir: string;
let app: FastifyInstance;
let bare: FastifyInstance;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bg-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  app = Fastify();
  app.get('/api/v1/me', async () => ({ ok: true }));
  await registerWeb(app, { dir });
  bare = Fastify();
  await registerWeb(bare, { dir: join(dir, 'missing') });
});
after(async () => {
  await app.close();
  await bare.close();
  rmSync(dir, { recursive: true, force: true });
});

test('/ and deep links answer index.html (never cached); hashed assets are cached for a year', async () => {
  for (const url of ['/', '/a/acme/apps/shop', '/a/acme/apps/shop/builds/abc?x=1']) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 200, url);
    assert.match(r.headers['content-type'] as string, /text\/html/);
    assert.match(r.body, /id="root"/);
    assert.equal(r.headers['cache-control'], 'no-cache', url);
  }
  const js = await app.inject({ url: '/assets/index-abc123.js' });
  assert.equal(js.statusCode, 200);
  assert.match(js.headers['content-type'] as string, /javascript/);
  assert.match(js.headers['cache-control'] as string, /immutable/);
});

test('API paths, missing files and non-GET methods are not the dashboard', async () => {
  assert.equal((await app.inject({ url: '/api/v1/me' })).statusCode, 200);
  for (const url of ['/api/v1/nothing-here', '/assets/missing.js', '/favicon.ico']) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 404, url);
    assert.equal(r.json().error.code, 'not_found');
  }
  assert.equal((await app.inject({ method: 'POST', url: '/a/acme' })).statusCode, 404);
});

test('without a build, / says how to build the dashboard', async () => {
  const r = await bare.inject({ url: '/' });
  assert.equal(r.statusCode, 503);
  assert.match(r.headers['content-type'] as string, /text\/plain/);
  assert.match(r.body, /npm run web:build/);
  assert.equal((await bare.inject({ url: '/api/v1/x' })).statusCode, 404);
});
