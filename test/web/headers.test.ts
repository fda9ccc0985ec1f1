import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ensureDashboardBuilt, ROOT } from './support.ts';

// Security headers on every answer of the main port — dashboard pages and files, the REST API (answers and errors),
// health, metrics, webhooks and the /v2 registry — and a dashboard build that needs no inline script or style, so the
// Content-Security-Policy can forbid both.

let s: TestServer;
const DIST = join(ROOT, 'web', 'dist');

before(async () => {
  ensureDashboardBuilt();
  s = await startTestServer({ buildConcurrency: 0 });
});
after(async () => {
  await s?.stop();
});

/** The CSP directives as a map: name → sources. */
function directives(csp: string): Map<string, string[]> {
  return new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k!, v]));
}

function assertSecurityHeaders(res: Response, what: string): void {
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp, `${what}: Content-Security-Policy`);
  const d = directives(csp);
  assert.deepEqual(d.get('script-src'), ["'self'"], `${what}: scripts from this origin only`);
  assert.deepEqual(d.get('style-src'), ["'self'"], `${what}: styles from this origin only`);
  assert.deepEqual(d.get('frame-ancestors'), ["'none'"], `${what}: no framing`);
  assert.deepEqual(d.get('object-src'), ["'none'"], what);
  assert.deepEqual(d.get('base-uri'), ["'none'"], what);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, what);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
  assert.match(res.headers.get('referrer-policy') ?? '', /^(no-referrer|same-origin)$/, what);
}

test('every answer carries the security headers: pages, files, API, errors, metrics, hooks and the registry', async () => {
  const js = readdirSync(join(DIST, 'assets')).find((f) => f.endsWith('.js'))!;
  const cases: Array<[string, RequestInit, number]> = [
    ['/', {}, 200], ['/a/acme/apps/shop/builds/x', {}, 200], [`/assets/${js}`, {}, 200], ['/favicon.svg', {}, 200],
    ['/assets/missing.js', {}, 404], ['/healthz', {}, 200], ['/metrics', {}, 401],
    ['/api/v1/me', {}, 401], ['/api/v1/no-such-route', {}, 404], ['/api/v1/openapi.json', {}, 200],
    ['/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":"x","password":"y"}' }, 401],
    ['/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }, 400],
    ['/hooks/nothing', { method: 'POST' }, 404],
    ['/v2/', {}, 401], ['/v2/acme/shop/manifests/latest', {}, 401],
  ];
  for (const [path, init, status] of cases) {
    const res = await fetch(`${s.url}${path}`, init);
    await res.arrayBuffer();
    assert.equal(res.status, status, `${init.method ?? 'GET'} ${path}`);
    assertSecurityHeaders(res, `${init.method ?? 'GET'} ${path}`);
  }
});

test('the registry keeps its own headers and bodies', async () => {
  const res = await fetch(`${s.url}/v2/`);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  assert.equal((await res.json() as any).errors[0].code, 'UNAUTHORIZED');
});

test('the dashboard build has no inline script, event handler or style for the CSP to refuse', () => {
  const html = readdirSync(DIST).filter((f) => f.endsWith('.html'));
  assert.deepEqual(html, ['index.html']);
  const page = readFileSync(join(DIST, 'index.html'), 'utf8');
  const scripts = [...page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
  assert.ok(scripts.length > 0);
  for (const [, attrs, body] of scripts) {
    assert.match(attrs!, /\bsrc="\/assets\/[^"]+\.js"/, 'every script is a file of this origin');
    assert.equal(body!.trim(), '', 'and has no inline body');
  }
  assert.doesNotMatch(page, /<style\b/i);
  assert.doesNotMatch(page, /\sstyle=/i);
  assert.doesNotMatch(page, /\son[a-z]+=/i);
  assert.doesNotMatch(page, /(src|href)="(https?:)?\/\//i, 'nothing from another origin');
});
