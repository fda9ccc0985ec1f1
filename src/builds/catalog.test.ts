import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { openSqlite } from '../metadata/index.ts';
import { decryptSecret } from '../auth/index.ts';
import { createCatalog, checkRepoPath, checkVariables } from './catalog.ts';

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
