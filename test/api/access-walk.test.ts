import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { buildInput, seed } from '../../src/metadata/suite-fixtures.ts';
import type { RouteAccess, RouteEntry } from '../../src/api/server.ts';
import { ADMIN, startTestServer, type TestServer } from '../support/server.ts';
import { apiCall, login } from '../support/world.ts';

// Deny by default, end to end: every route the server registered (RunningServer.routes(), filled by the onRoute hook
// that refuses undeclared routes) is called as anonymous, a worker, acme's viewer (by API token, and by the dashboard's
// session cookie with its CSRF token), developer and owner, globex's owner and the administrator, and each answer's class must be what the route's declared access says: 401/403/404 where it
// refuses, success or a validation error where it admits. Public routes must answer everyone as they answer the
// administrator. A route added later is walked too; one with a path parameter this test cannot fill fails it.

type Caller = 'anonymous' | 'worker' | 'viewer' | 'developer' | 'owner' | 'outsider' | 'admin' | 'viewer-cookie';
const CALLERS: Caller[] = ['admin', 'anonymous', 'worker', 'viewer', 'viewer-cookie', 'developer', 'owner', 'outsider'];
const RANK = { viewer: 1, developer: 2, owner: 3 } as const;

let s: TestServer;
const tokens = new Map<Caller, string>();
let buildId: string;
/** The viewer's dashboard session: the cookie and the CSRF token its unsafe requests carry. */
let session: { cookie: string; csrf: string };

async function member(email: string, account: string, role: keyof typeof RANK, password = `pw-${randomBytes(6).toString('hex')}`): Promise<string> {
  const r = await apiCall(s, tokens.get('admin')!, 'POST', '/users', { email, password, account, role });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return login(s, email, password);
}

before(async () => {
  s = await startTestServer({ buildConcurrency: 0 });
  tokens.set('admin', await login(s, ADMIN.email, ADMIN.password));
  const acme = await seed(s.metadata, 'acme'); // application `shop` with services api and web
  await seed(s.metadata, 'globex');
  buildId = (await s.metadata.builds.create(buildInput(acme))).id;
  tokens.set('viewer', await member('viewer@acme.test', 'acme', 'viewer', 'viewer-password-1'));
  const signIn = await fetch(`${s.url}/api/v1/auth/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'viewer@acme.test', password: 'viewer-password-1' }),
  });
  assert.equal(signIn.status, 200);
  session = { cookie: signIn.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await signIn.json()) as { csrfToken: string }).csrfToken };
  tokens.set('developer', await member('dev@acme.test', 'acme', 'developer'));
  tokens.set('owner', await member('owner@acme.test', 'acme', 'owner'));
  tokens.set('outsider', await member('owner@globex.test', 'globex', 'owner'));
  const w = await apiCall(s, tokens.get('admin')!, 'POST', '/admin/worker-tokens', { name: 'walk' });
  assert.equal(w.status, 201);
  tokens.set('worker', w.body.token);
});
after(async () => s?.stop());

/** The URL to call for a route pattern: parameters filled with acme's real objects, or with ids that exist nowhere. */
function concrete(url: string): string {
  return url.split('/').map((part) => {
    if (part === '*') return 'anything';
    if (!part.startsWith(':')) return part;
    switch (part) {
      case ':namespace': return 'acme';
      case ':app': return 'shop';
      case ':service': return 'api';
      case ':id': return url.startsWith('/api/v1/builds/') ? buildId : 'no-such-id';
      case ':userId': case ':hookId': return 'no-such-id';
      default: throw new Error(`route ${url}: the access walk does not know what to put in ${part}; add it to concrete()`);
    }
  }).join('/');
}

interface Answer { status: number; message: string | null }

async function call(route: RouteEntry, caller: Caller): Promise<Answer> {
  const headers: Record<string, string> = {};
  const token = tokens.get(caller);
  if (caller !== 'anonymous' && token) headers.authorization = `Bearer ${token}`;
  if (caller === 'viewer-cookie') Object.assign(headers, { cookie: session.cookie, 'x-csrf-token': session.csrf });
  const init: RequestInit = { method: route.method, headers };
  if (!['GET', 'HEAD'].includes(route.method)) {
    headers['content-type'] = 'application/json';
    init.body = '[]'; // no route's body is a list: an admitted caller gets a validation error, nothing changes
  }
  const abort = new AbortController();
  const res = await fetch(`${s.url}${concrete(route.url)}`, { ...init, signal: abort.signal });
  let message: string | null = null;
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) abort.abort(); // a live stream: the status says enough
  else {
    const text = await res.text();
    try { message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? null; } catch { /* not JSON */ }
  }
  return { status: res.status, message };
}

/** A 404 from the access check itself (the account or build is hidden), as opposed to a handler's "no such thing". */
const hidden = (a: Answer) => a.status === 404 && a.message !== null && /^(account acme|build \S+) not found$/.test(a.message);
const admitted = (a: Answer) => a.status !== 401 && a.status !== 403 && !hidden(a) && a.status < 500;

/** What the declared access says for `caller`: 'admitted', or the refusal status. */
function expected(access: RouteAccess, as: Caller): 'admitted' | 401 | 403 | 404 {
  const caller = as === 'viewer-cookie' ? 'viewer' : as;
  if (access === 'public') return 'admitted';
  if (access === 'worker') return caller === 'worker' ? 'admitted' : 401;
  if (caller === 'anonymous' || caller === 'worker') return 401;
  if (access === 'signedIn' || caller === 'admin') return 'admitted';
  if (access === 'admin') return 403;
  if (caller === 'outsider') return 404;
  const need = 'account' in access ? access.account : access.build;
  return RANK[caller] >= RANK[need] ? 'admitted' : 403;
}

test('every registered route answers each kind of caller as its declared access says', async () => {
  const seen = new Set<string>();
  const routes = s.routes().filter((r) => {
    const key = `${r.method} ${r.url}`;
    return !seen.has(key) && seen.add(key) !== undefined;
  });
  // The table is the server's: the API, the worker API, /metrics, the webhook receiver and the dashboard's files.
  for (const must of ['GET /healthz', 'GET /metrics', 'POST /api/v1/worker/claim', 'POST /hooks/:hookId', 'DELETE /api/v1/admin/worker-tokens/:id', 'GET /api/v1/builds/:id/log/stream']) {
    assert.ok(seen.has(must), `${must} is in the route table`);
  }
  assert.ok(routes.length >= 80, `only ${routes.length} routes listed`);
  // Logging out ends the caller's token: walk it last.
  routes.sort((a, b) => Number(a.url.endsWith('/auth/logout')) - Number(b.url.endsWith('/auth/logout')));

  const wrong: string[] = [];
  for (const route of routes) {
    const answers = new Map<Caller, Answer>();
    for (const caller of CALLERS) {
      const a = await call(route, caller);
      answers.set(caller, a);
      const want = expected(route.access, caller);
      const where = `${route.method} ${route.url} (${JSON.stringify(route.access)}) as ${caller}: ${a.status} ${a.message ?? ''}`;
      if (a.status >= 500) wrong.push(`${where} — a server error`);
      else if (route.access === 'public') {
        if (a.status !== answers.get('admin')!.status) wrong.push(`${where} — a public route answers the administrator ${answers.get('admin')!.status}`);
      } else if (want === 'admitted') {
        if (!admitted(a)) wrong.push(`${where} — expected to be admitted`);
      } else if (a.status !== want || (want === 404 && route.method !== 'HEAD' && !hidden(a))) {
        wrong.push(`${where} — expected ${want}`);
      }
    }
  }
  assert.deepEqual(wrong, [], `${wrong.length} answers differ from the declared table:\n${wrong.join('\n')}`);
});
