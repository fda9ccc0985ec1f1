import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../support/server.ts';
import { adminClient, apiCall, makeWorld, pushRandomImage, type World } from '../support/world.ts';
import { makeGitRepo } from '../support/git-repos.ts';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http.ts';

/**
 * Names and service settings a tenant controls, attacked through the REST API of a real in-process server (real
 * SQLite, real git over smart HTTP on loopback): reserved namespaces, image repositories that are not the service's
 * own, git branch names, git credentials following a URL to another host, and the last owner of an account.
 */

const TOKEN = 'glpat-OLD-secret-token-0001';
const NEW_TOKEN = 'glpat-NEW-secret-token-0002';
const basic = (user: string, token: string) => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

let s: TestServer;
let w: World;
let tmp: string;
let hostA: GitHttpServer; // the service's git host: needs TOKEN
let hostB: GitHttpServer; // another host: accepts anything, records what it is sent

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bg-names-'));
  await makeGitRepo(join(tmp, 'repos', 'web'), { Dockerfile: 'FROM scratch\n' });
  await makeGitRepo(join(tmp, 'repos', 'api'), { Dockerfile: 'FROM scratch\n' });
  hostA = await startGitHttpServer({ root: join(tmp, 'repos'), requireToken: { username: 'git', token: TOKEN } });
  hostB = await startGitHttpServer({ root: join(tmp, 'repos') });
  s = await startTestServer({
    allowLocalGit: true, buildConcurrency: 0, baseNamespaces: ['library', 'base'], reservedNamespaces: ['corp'],
    allowPrivateNetworks: true, // loopback git servers stand in for two hosts on the internet
  });
  w = await makeWorld(s);
});
after(async () => {
  await s?.stop();
  await Promise.all([hostA?.stop(), hostB?.stop()]);
  rmSync(tmp, { recursive: true, force: true });
});

const errorOf = (r: { body: any }) => String(r.body?.error?.message ?? JSON.stringify(r.body));

describe('reserved namespaces', () => {
  const reserved = ['library', 'base', 'corp', 'mirror', 'admin', 'api', 'v2', 'buildgrid', 'static', 'assets', 'token',
    'healthz', 'metrics', 'www', 'root', 'system'];

  test('a signed-in user cannot create an account with a reserved namespace, given or generated from the name', async () => {
    for (const ns of reserved) {
      const given = await apiCall(s, w.globexDev.token, 'POST', '/accounts', { name: `Team ${ns}`, namespace: ns });
      assert.ok(given.status === 400 || given.status === 403, `${ns}: ${given.status} ${JSON.stringify(given.body)}`);
      assert.match(errorOf(given), new RegExp(`"${ns}" is reserved`));
      const generated = await apiCall(s, w.globexDev.token, 'POST', '/accounts', { name: ns.toUpperCase() });
      assert.ok(generated.status === 400 || generated.status === 403, `${ns}: ${generated.status} ${JSON.stringify(generated.body)}`);
      assert.match(errorOf(generated), /is reserved.*give a namespace|is reserved.*another/);
    }
    const mine = (await apiCall(s, w.globexDev.token, 'GET', '/accounts')).body.map((a: any) => a.namespace);
    assert.deepEqual(mine, ['globex']);
    assert.equal((await apiCall(s, w.globexDev.token, 'POST', '/accounts', { name: 'Library Fans' })).status, 201, 'a name merely containing a reserved word is fine');
  });

  test('names that only an administrator may take: base namespaces; the admin\'s import into library/ keeps working', async () => {
    for (const ns of ['admin', 'v2', 'mirror']) {
      const r = await apiCall(s, w.adminToken, 'POST', '/accounts', { name: ns });
      assert.equal(r.status, 400, `${ns}: ${JSON.stringify(r.body)}`);
    }
    assert.equal((await apiCall(s, w.adminToken, 'POST', '/accounts', { name: 'Library' })).status, 201);
    await pushRandomImage(adminClient(s, w.adminToken), 'library/busybox', '1');
    const repos = await apiCall(s, w.adminToken, 'GET', '/accounts/library/repositories');
    assert.deepEqual(repos.body.map((r: any) => [r.name, r.tags]), [['library/busybox', ['1']]]);
    const again = await apiCall(s, w.globexDev.token, 'POST', '/accounts', { name: 'x', namespace: 'library' });
    assert.ok(again.status === 403 || again.status === 409, JSON.stringify(again.body));
  });
});

describe('image repositories a service does not own', () => {
  test('a service whose image name is an imported repository is refused, naming it; the import keeps its tags', async () => {
    await pushRandomImage(adminClient(s, w.adminToken), 'acme/node.js', '20');
    assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'node' })).status, 201);
    const r = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/node/services', { name: 'web', gitUrl: 'file:///srv/git/js.git' });
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.match(errorOf(r), /acme\/node\.js/);
    const repos = await apiCall(s, w.acmeOwner.token, 'GET', '/accounts/acme/repositories');
    assert.deepEqual(repos.body.find((x: any) => x.name === 'acme/node.js')?.tags, ['20']);
    const app = await apiCall(s, w.acmeOwner.token, 'GET', '/accounts/acme/apps/node');
    assert.deepEqual(app.body.services, []);
  });

  test('retention never prunes a repository older than the service (a clash stored before names were checked)', async () => {
    const admin = adminClient(s, w.adminToken);
    await pushRandomImage(admin, 'acme/legacy.js', '1');
    await pushRandomImage(admin, 'acme/legacy.js', '2');
    const app = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'legacy' });
    await s.metadata.services.create({
      applicationId: app.body.id, name: 'web', gitUrl: 'file:///srv/git/js.git', branch: 'main', dockerfile: 'Dockerfile', context: '.',
      buildArgs: {}, repository: 'acme/legacy.js', gitAuth: { kind: 'none' }, pollIntervalSeconds: null,
    });
    const policy = await apiCall(s, w.acmeOwner.token, 'PUT', '/accounts/acme/apps/legacy/retention', { keepLastPerBranch: 1, keepPulledWithinDays: 0 });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    const run = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/legacy/retention/run', { dryRun: false });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    const repos = await apiCall(s, w.acmeOwner.token, 'GET', '/accounts/acme/repositories');
    assert.deepEqual(repos.body.find((x: any) => x.name === 'acme/legacy.js')?.tags.sort(), ['1', '2']);
  });

  test('two services that would compute one repository name: the second is refused with the name', async () => {
    assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'shop' })).status, 201);
    const add = (name: string, gitUrl: string) => apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/shop/services', { name, gitUrl });
    assert.equal((await add('a', 'file:///srv/git/js-web.git')).body.repository, 'acme/shop.js-web');
    assert.equal((await add('b', 'file:///srv/git/js.git')).body.repository, 'acme/shop.js');
    const r = await add('web', 'file:///srv/git/js.git'); // the monorepo rule suffixes it: acme/shop.js-web, taken by "a"
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.match(errorOf(r), /acme\/shop\.js-web/);
    assert.match(errorOf(r), /service a\b/);
  });
});

describe('git branch names', () => {
  const bad: Array<[string, RegExp]> = [
    ['--upload-pack=touch /tmp/pwned', /must not start with "-"/],
    ['../../etc', /\.\./],
    ['main@{1}', /@\{/],
    ['feature/', /must not end with "\/"/],
    ['topic.lock', /\.lock/],
    ['a b', /space|control/],
    ['x~1', /~/],
  ];

  test('adding or changing a service refuses a bad branch, naming the rule', async () => {
    assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'branchy' })).status, 201);
    for (const [branch, rule] of bad) {
      const r = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/branchy/services', { name: 'web', gitUrl: 'file:///srv/git/web.git', branch });
      assert.equal(r.status, 400, `${branch}: ${JSON.stringify(r.body)}`);
      assert.match(errorOf(r), rule, branch);
    }
    const ok = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/branchy/services', { name: 'web', gitUrl: 'file:///srv/git/web.git', branch: 'release/1.x' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    for (const [branch, rule] of bad) {
      const r = await apiCall(s, w.acmeOwner.token, 'PATCH', '/accounts/acme/apps/branchy/services/web', { branch });
      assert.equal(r.status, 400, `${branch}: ${JSON.stringify(r.body)}`);
      assert.match(errorOf(r), rule, branch);
    }
    assert.equal((await apiCall(s, w.acmeOwner.token, 'GET', '/accounts/acme/apps/branchy')).body.services[0].branch, 'release/1.x');
  });

  test('deploy --branch refuses a bad branch before anything is fetched or queued, naming the rule', async () => {
    for (const [branch, rule] of bad) {
      const r = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/branchy/deploy', { branch });
      assert.equal(r.status, 400, `${branch}: ${JSON.stringify(r.body)}`);
      assert.match(errorOf(r), rule, branch);
    }
    assert.deepEqual((await apiCall(s, w.acmeOwner.token, 'GET', '/accounts/acme/apps/branchy/builds')).body, []);
  });

  test('names reaching the engine: control characters and leading dashes in app and service names are refused', async () => {
    for (const name of ['web\n--label evil=1', '-rf', 'a\u0000b', 'x/../y']) {
      const r = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/branchy/services', { name, gitUrl: 'file:///srv/git/other.git' });
      assert.equal(r.status, 400, `${JSON.stringify(name)}: ${JSON.stringify(r.body)}`);
    }
    for (const name of ['shop\r\nX-Evil: 1', '--help']) {
      const r = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name });
      assert.equal(r.status, 400, `${JSON.stringify(name)}: ${JSON.stringify(r.body)}`);
    }
    const account = await apiCall(s, w.globexDev.token, 'POST', '/accounts', { name: 'Evil\nCorp' });
    assert.equal(account.status, 400, JSON.stringify(account.body));
  });
});

describe('git credentials follow the host, not the URL', () => {
  const svc = (app: string) => `/accounts/acme/apps/${app}/services/web`;
  const gitAuthOf = async (app: string) => (await apiCall(s, w.acmeOwner.token, 'GET', `/accounts/acme/apps/${app}`)).body.services[0].gitAuth;
  const deploy = (app: string) => apiCall(s, w.acmeOwner.token, 'POST', `/accounts/acme/apps/${app}/deploy`, {});
  const sentToB = () => hostB.requests.map((r) => r.authorization).filter(Boolean);

  test('moving the git URL to another host drops the stored token: the new host never sees it', async () => {
    assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'moved' })).status, 201);
    const add = await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/moved/services', { name: 'web', gitUrl: hostA.url('web'), gitToken: { token: TOKEN } });
    assert.equal(add.status, 201, JSON.stringify(add.body));
    assert.equal((await deploy('moved')).status, 202, 'the token works on its own host');

    const moved = await apiCall(s, w.acmeOwner.token, 'PATCH', svc('moved'), { gitUrl: hostB.url('web') });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.gitAuth, 'none');
    assert.equal(await gitAuthOf('moved'), 'none');
    hostB.requests.length = 0;
    assert.equal((await deploy('moved')).status, 202);
    assert.ok(hostB.requests.length > 0, 'the deploy asked the new host for the branch');
    assert.deepEqual(sentToB(), [], 'no Authorization header reached the new host');

    const back = await apiCall(s, w.acmeOwner.token, 'PATCH', svc('moved'), { gitUrl: hostA.url('web') });
    assert.equal(back.body.gitAuth, 'none', 'moving back does not bring the dropped token back');
  });

  test('a new token given with the new URL is kept (and is the only one sent); a move on the same host keeps the token', async () => {
    assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'rehomed' })).status, 201);
    await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/rehomed/services', { name: 'web', gitUrl: hostA.url('web'), gitToken: { token: TOKEN } });
    const sameHost = await apiCall(s, w.acmeOwner.token, 'PATCH', svc('rehomed'), { gitUrl: hostA.url('api') });
    assert.equal(sameHost.body.gitAuth, 'token');
    assert.equal((await deploy('rehomed')).status, 202, 'the kept token still opens host A');

    const moved = await apiCall(s, w.acmeOwner.token, 'PATCH', svc('rehomed'), { gitUrl: hostB.url('web'), gitToken: { token: NEW_TOKEN } });
    assert.equal(moved.body.gitAuth, 'token');
    hostB.requests.length = 0;
    assert.equal((await deploy('rehomed')).status, 202);
    assert.ok(sentToB().length > 0);
    assert.ok(sentToB().every((h) => h === basic('git', NEW_TOKEN)), `host B got ${sentToB().join(', ')}`);
  });

  test('another scheme on the same host and port counts as another host', async () => {
    assert.equal((await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps', { name: 'scheme' })).status, 201);
    await apiCall(s, w.acmeOwner.token, 'POST', '/accounts/acme/apps/scheme/services', { name: 'web', gitUrl: hostA.url('web'), gitToken: { token: TOKEN } });
    const r = await apiCall(s, w.acmeOwner.token, 'PATCH', svc('scheme'), { gitUrl: hostA.url('web').replace('http:', 'https:') });
    assert.equal(r.body.gitAuth, 'none', JSON.stringify(r.body));
  });
});

describe('the last owner', () => {
  test('cannot demote themselves or be removed, by themselves or an administrator, until someone else is owner', async () => {
    const dev = w.globexDev;
    assert.equal((await apiCall(s, dev.token, 'POST', '/accounts', { name: 'Initrode' })).status, 201); // dev is its only owner
    const members = async () => (await apiCall(s, w.adminToken, 'GET', '/accounts/initrode/members')).body as Array<{ userId: string; email: string; role: string }>;
    const devId = (await members()).find((m) => m.email === dev.email)!.userId;
    for (const token of [dev.token, w.adminToken]) {
      const demote = await apiCall(s, token, 'PUT', '/accounts/initrode/members', { email: dev.email, role: 'developer' });
      assert.equal(demote.status, 409, JSON.stringify(demote.body));
      assert.match(errorOf(demote), /last owner of initrode.*promote someone else/i);
      const remove = await apiCall(s, token, 'DELETE', `/accounts/initrode/members/${devId}`);
      assert.equal(remove.status, 409, JSON.stringify(remove.body));
      assert.match(errorOf(remove), /last owner of initrode.*promote someone else/i);
    }
    assert.deepEqual((await members()).map((m) => [m.email, m.role]), [[dev.email, 'owner']]);

    const viewer = w.acmeViewer;
    assert.equal((await apiCall(s, dev.token, 'PUT', '/accounts/initrode/members', { email: viewer.email, role: 'owner' })).status, 200);
    assert.equal((await apiCall(s, dev.token, 'PUT', '/accounts/initrode/members', { email: dev.email, role: 'developer' })).status, 200, 'with another owner, stepping down works');
    const viewerId = (await members()).find((m) => m.email === viewer.email)!.userId;
    const last = await apiCall(s, viewer.token, 'DELETE', `/accounts/initrode/members/${viewerId}`);
    assert.equal(last.status, 409, 'the new sole owner is protected the same way');
    assert.equal((await apiCall(s, viewer.token, 'PUT', '/accounts/initrode/members', { email: dev.email, role: 'owner' })).status, 200);
    assert.equal((await apiCall(s, dev.token, 'DELETE', `/accounts/initrode/members/${viewerId}`)).status, 200);
  });
});
