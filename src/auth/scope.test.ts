import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../core/errors.ts';
import { grantedAccess, parseScope } from './scope.ts';
import type { AccessRules, Action, Principal } from './types.ts';

test('parseScope reads the Docker grammar, names with slashes, several scopes, and merges duplicates', () => {
  assert.deepEqual(parseScope('repository:acme/web.api:pull,push'), [{ type: 'repository', name: 'acme/web.api', actions: ['pull', 'push'] }]);
  assert.deepEqual(parseScope('repository:a/b/c:pull registry:catalog:*  repository:a/b/c:push,pull'), [
    { type: 'repository', name: 'a/b/c', actions: ['pull', 'push'] },
    { type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  assert.deepEqual(parseScope('repository(plugin):acme/x:pull'), [{ type: 'repository', name: 'acme/x', actions: ['pull'] }]);
  assert.deepEqual(parseScope('repository:acme/x:*'), [{ type: 'repository', name: 'acme/x', actions: ['*'] }]);
  assert.deepEqual(parseScope('unknowntype:thing:read'), [], 'unknown resource types are skipped');
  assert.deepEqual(parseScope(''), []);
});

test('parseScope rejects malformed input with INVALID', () => {
  for (const bad of [
    'repository', 'repository:acme/x', 'repository::pull', ':acme/x:pull', 'repository:acme/x:', 'repository:acme/x:pull,',
    'repository:acme/x:PULL', 'repository:Acme/X:pull', 'repository:acme//x:pull', 'repository:acme/x:pull;rm',
    'Repository:acme/x:pull', 'registry:cat/alog:*', 'repository:localhost:5000/acme/x:pull', 'x'.repeat(9000),
    Array.from({ length: 65 }, (_, i) => `repository:a/r${i}:pull`).join(' '),
  ]) {
    assert.throws(() => parseScope(bad), (e) => isAppError(e, 'INVALID'), bad.slice(0, 60));
  }
});

const rules = (table: Record<string, Action[]>): AccessRules => ({
  async actionsFor(_p, name) { return new Set(table[name] ?? []); },
  async listableNamespaces() { return []; },
  tagRefusal() { return null; },
});
const someone: Principal = { kind: 'pull-token', id: 't', accountId: 'a', namespace: 'acme', repositories: null };

test('grantedAccess intersects requested with allowed and drops what is not granted', async () => {
  const r = rules({ 'acme/web.api': ['pull'], 'acme/builder.x': ['pull', 'push', 'delete'] });
  assert.deepEqual(await grantedAccess(r, someone, parseScope('repository:acme/web.api:pull,push repository:beta/web.api:pull registry:catalog:*')), [
    { type: 'repository', name: 'acme/web.api', actions: ['pull'] },
    { type: 'registry', name: 'catalog', actions: ['*'] },
  ]);
  assert.deepEqual(await grantedAccess(r, someone, parseScope('repository:acme/builder.x:*')), [
    { type: 'repository', name: 'acme/builder.x', actions: ['pull', 'push', 'delete'] },
  ]);
  assert.deepEqual(await grantedAccess(r, someone, parseScope('repository:acme/builder.x:delete,pull,frobnicate')), [
    { type: 'repository', name: 'acme/builder.x', actions: ['pull', 'delete'] },
  ]);
  assert.deepEqual(await grantedAccess(r, someone, parseScope('repository:acme/web.api:push registry:catalog:read registry:other:*')), []);
});
