import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openSqlite } from '../metadata/index.ts';
import { decryptSecret } from '../auth/index.ts';
import { isAppError } from '../core/errors.ts';
import { createCatalog, checkName, checkRepoPath, checkVariables, gitOrigin } from './catalog.ts';
import { parseGitUrl } from './git/urls.ts';

test('services are named <ns>/<app>.<repo>; a second service on the same repository gets its name appended', async () => {
  const metadata = await openSqlite({ path: ':memory:' });
  const key = randomBytes(32);
  try {
    const account = await metadata.accounts.create({ name: 'Acme', namespace: 'acme' });
    const c = createCatalog({ metadata, secretKey: key, allowLocalGit: false });
    const app = await c.createApplication(account, 'My Shop!');
    assert.equal(app.slug, 'my-shop');
    const web = await c.addService(account, app, { name: 'web', gitUrl: 'https://git.example.com/team/Shop_Front.git' });
    assert.equal(web.repository, 'acme/my-shop.shop_front');
    const api = await c.addService(account, app, { name: 'API Server', gitUrl: 'https://git.example.com/team/shop_front' });
    assert.equal(api.repository, 'acme/my-shop.shop_front-api-server');
    const priv = await c.addService(account, app, { name: 'priv', gitUrl: 'https://git.example.com/x/private.git', gitToken: { token: 'tok-123' } });
    assert.equal(priv.gitAuth.kind, 'token');
    assert.ok(priv.gitAuth.kind === 'token' && !priv.gitAuth.tokenEnc.includes('tok-123'));
    assert.equal(priv.gitAuth.kind === 'token' && decryptSecret(key, priv.gitAuth.tokenEnc, priv.repository), 'tok-123');
    await assert.rejects(c.addService(account, app, { name: 'web', gitUrl: 'https://git.example.com/other.git' }), /already has a service named web/);
    await assert.rejects(c.addService(account, app, { name: 'local', gitUrl: 'file:///srv/repo' }), /file:\/\//);
    await assert.rejects(c.addService(account, app, { name: 'esc', gitUrl: 'https://h/x.git', dockerfile: '../../etc/passwd' }), /without \.\./);
    await assert.rejects(c.createApplication(account, '!!!'), /needs letters or digits/);
  } finally {
    await metadata.close();
  }
});

test('variable names and repository paths are checked', () => {
  assert.deepEqual(checkVariables({ A_1: 'x' }, 'arg'), { A_1: 'x' });
  assert.throws(() => checkVariables({ '1A': 'x' }, 'arg'), /invalid arg name/);
  assert.throws(() => checkVariables({ 'A B': 'x' }, 'arg'));
  assert.equal(checkRepoPath('./docker/Dockerfile', 'p'), 'docker/Dockerfile');
  assert.equal(checkRepoPath('.', 'p'), '.');
  for (const bad of ['/etc/passwd', 'a/../../b', '..', 'x\0y']) assert.throws(() => checkRepoPath(bad, 'p'), /invalid p/);
});

test('gitOrigin: where a git token goes is scheme, host and port (default ports filled in)', () => {
  const origin = (url: string) => gitOrigin(parseGitUrl(url, { allowLocal: true }));
  const same: Array<[string, string]> = [
    ['https://git.example.com/a/b.git', 'https://GIT.example.com:443/c/d'],
    ['git@github.com:org/a.git', 'ssh://git@github.com/org/b.git'],
    ['ssh://git@github.com:22/org/a', 'git+ssh://other@github.com/org/b'],
    ['http://127.0.0.1:8080/a', 'http://127.0.0.1:8080/b'],
  ];
  const different: Array<[string, string]> = [
    ['https://git.example.com/a', 'https://git.example.org/a'],
    ['http://git.example.com/a', 'https://git.example.com/a'],
    ['https://git.example.com/a', 'https://git.example.com:8443/a'],
    ['git@github.com:org/a.git', 'https://github.com/org/a.git'],
    ['ssh://git@github.com:2222/a', 'git@github.com:a'],
    ['https://[::1]/a', 'https://127.0.0.1/a'],
  ];
  for (const [a, b] of same) assert.equal(origin(a), origin(b), `${a} ~ ${b}`);
  for (const [a, b] of different) assert.notEqual(origin(a), origin(b), `${a} !~ ${b}`);
  assert.equal(origin('file:///srv/a'), null);
});

test('application and service names: no control characters, slashes or leading - and .', () => {
  assert.equal(checkName('  API Server ', 'service'), 'API Server');
  for (const bad of ['', 'x'.repeat(64), 'a\nb', 'a\u0000', 'a/b', 'a\\b', '-rf', '.hidden', '!!!']) {
    assert.throws(() => checkName(bad, 'service'), (e) => isAppError(e, 'INVALID') && /invalid service name/.test((e as Error).message), JSON.stringify(bad));
  }
});
