import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, ADMIN, type TestServer } from '../support/server.ts';
import { basic } from '../support/world.ts';
import { cli } from '../support/cli.ts';

// The CLI as a user meets it: login stores a token, every command speaks --json, failures say what to do next.
let s: TestServer;
let home: string;
let env: Record<string, string>;

before(async () => {
  s = await startTestServer();
  home = mkdtempSync(join(tmpdir(), 'bg-cli-'));
  env = { XDG_CONFIG_HOME: home };
});
after(async () => {
  await s.stop();
  rmSync(home, { recursive: true, force: true });
});

test('commands before login fail with a hint to log in', async () => {
  const r = await cli(['accounts', 'list'], env);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: not logged in/);
  assert.match(r.stderr, /hint: run `buildgrid login/);
  const j = await cli(['accounts', 'list', '--json'], env);
  assert.equal(j.code, 1);
  assert.equal(JSON.parse(j.stderr).error.message, 'not logged in');
});

test('login with a wrong password fails; with the right one stores a private token', async () => {
  const bad = await cli(['login', '--server', s.url, '--email', ADMIN.email, '--password-stdin'], env, 'wrong-password');
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /error: /);
  const ok = await cli(['login', '--server', s.url, '--email', ADMIN.email, '--password-stdin', '--json'], env, `${ADMIN.password}\n`);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.json.user.email, ADMIN.email);
  const mode = statSync(join(home, 'buildgrid', 'cli.json')).mode & 0o777;
  assert.equal(mode, 0o600);
});

test('accounts, users, memberships and credentials', async () => {
  const a = await cli(['accounts', 'create', 'Initech Labs', '--json'], env);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.json.namespace, 'initech-labs');
  const dup = await cli(['accounts', 'create', 'Initech Labs'], env);
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /initech-labs/);
  const list = await cli(['accounts', 'list', '--json'], env);
  assert.deepEqual(list.json.map((x: any) => x.namespace), ['initech-labs']);
  const human = await cli(['accounts', 'list'], env);
  assert.match(human.stdout, /NAMESPACE\s+NAME/);

  const u = await cli(['users', 'create', 'milton@initech.test', '--account', 'initech-labs', '--role', 'viewer', '--json'], env);
  assert.equal(u.code, 0, u.stderr);
  assert.ok(u.json.password, 'a generated password is shown once');
  const badRole = await cli(['users', 'add', 'milton@initech.test', '--account', 'initech-labs', '--role', 'boss'], env);
  assert.equal(badRole.code, 1);
  const members = await cli(['accounts', 'members', 'initech-labs', '--json'], env);
  assert.deepEqual(members.json.map((m: any) => [m.email, m.role]).sort(), [[ADMIN.email, 'owner'], ['milton@initech.test', 'viewer']]);

  // Milton logs in with BUILDGRID_SERVER + BUILDGRID_TOKEN instead of a stored login.
  const login = await fetch(`${s.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'milton@initech.test', password: u.json.password }) });
  const token = ((await login.json()) as any).token;
  const menv = { BUILDGRID_SERVER: s.url, BUILDGRID_TOKEN: token };
  const shown = await cli(['credentials', 'show', '--json'], menv);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal(shown.json.registry, s.host);
  assert.equal((await fetch(`${s.url}/v2/`, { headers: { authorization: basic(shown.json.username, shown.json.password) } })).status, 200);
  const human2 = await cli(['credentials', 'show'], menv);
  assert.match(human2.stdout, /docker login 127\.0\.0\.1:\d+ -u /);
  const rotated = await cli(['credentials', 'rotate', '--json'], menv);
  assert.notEqual(rotated.json.password, shown.json.password);
  assert.equal((await fetch(`${s.url}/v2/`, { headers: { authorization: basic(shown.json.username, shown.json.password) } })).status, 401);
  const denied = await cli(['users', 'list'], menv);
  assert.equal(denied.code, 1);
  assert.match(denied.stderr, /administrators/);
});

test('pull tokens: create (shown once), list, revoke', async () => {
  const c = await cli(['tokens', 'create', 'ci', '--account', 'initech-labs', '--expires', '30d', '--repo', 'app.web', '--json'], env);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.json.username, 'initech-labs+ci');
  assert.deepEqual(c.json.repositories, ['initech-labs/app.web']);
  assert.ok(c.json.password.startsWith('bgp_'));
  const l = await cli(['tokens', 'list', '--account', 'initech-labs', '--json'], env);
  assert.equal(l.json.length, 1);
  assert.equal(l.json[0].password, undefined);
  const r = await cli(['tokens', 'revoke', c.json.id, '--account', 'initech-labs'], env);
  assert.equal(r.code, 0, r.stderr);
  const l2 = await cli(['tokens', 'list', '--account', 'initech-labs'], env);
  assert.match(l2.stdout, /revoked/);
  const bad = await cli(['tokens', 'create', 'x', '--account', 'initech-labs', '--expires', 'soon'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /hint: use a number followed by d, h or m/);
});

test('import rejects bad targets and sources with clear messages', async () => {
  const t = await cli(['import', '/nonexistent', 'Bad/Name:tag'], env);
  assert.equal(t.code, 1);
  assert.match(t.stderr, /invalid repository name/);
  const src = await cli(['import', '/nonexistent', 'library/busybox:1'], env);
  assert.equal(src.code, 1);
  assert.match(src.stderr, /hint: pass a directory/);
});

test('serve rejects unknown configuration keys, naming them', async () => {
  const r = await cli(['serve'], { BUILDGRID_DATA_DIR: join(home, 'd'), BUILDGRID_PORTT: '1' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /unknown configuration key\(s\): portt/);
  const v = await cli(['serve', '--port', 'notaport'], { BUILDGRID_DATA_DIR: join(home, 'd') });
  assert.equal(v.code, 1);
  assert.match(v.stderr, /invalid configuration value for "port"/);
});
