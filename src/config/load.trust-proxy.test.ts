import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load.ts';

test('trustProxy: none by default; a JSON list or BUILDGRID_TRUST_PROXY comma-separated; bad entries refused', () => {
  assert.deepEqual(loadConfig({ env: {} }).trustProxy, []);
  assert.deepEqual(loadConfig({ env: { BUILDGRID_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1 ,fd00::/8' } }).trustProxy, ['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
  assert.deepEqual(loadConfig({ env: {}, overrides: { trustProxy: ['192.168.0.0/16'] } }).trustProxy, ['192.168.0.0/16']);
  assert.throws(() => loadConfig({ env: { BUILDGRID_TRUST_PROXY: '10.0.0.0/8,ingress' } }), /invalid configuration value for "trustProxy"/);
});
