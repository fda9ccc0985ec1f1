import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load.ts';

// allowPrivateNetworks from the environment (the way operators and the container image set it) and from JSON.
const load = (env: Record<string, string>, overrides?: Record<string, unknown>) => loadConfig({ env, overrides });

test('allowPrivateNetworks: false by default; true; a comma-separated or JSON list of CIDRs; anything else names the key', () => {
  assert.equal(load({}).allowPrivateNetworks, false);
  assert.equal(load({ BUILDGRID_ALLOW_PRIVATE_NETWORKS: 'true' }).allowPrivateNetworks, true);
  assert.equal(load({ BUILDGRID_ALLOW_PRIVATE_NETWORKS: 'false' }).allowPrivateNetworks, false);
  assert.deepEqual(load({ BUILDGRID_ALLOW_PRIVATE_NETWORKS: '10.0.0.0/8, fd00::/8' }).allowPrivateNetworks, ['10.0.0.0/8', 'fd00::/8']);
  assert.deepEqual(load({ BUILDGRID_ALLOW_PRIVATE_NETWORKS: '["192.168.10.0/24"]' }).allowPrivateNetworks, ['192.168.10.0/24']);
  assert.deepEqual(load({}, { allowPrivateNetworks: ['127.0.0.0/8'] }).allowPrivateNetworks, ['127.0.0.0/8']);
  assert.throws(() => load({ BUILDGRID_ALLOW_PRIVATE_NETWORKS: 'office-lan' }), /invalid configuration value for "allowPrivateNetworks": entry "office-lan" is not a CIDR/);
  assert.throws(() => load({}, { allowPrivateNetworks: ['10.0.0.0/40'] }), /"allowPrivateNetworks".*10\.0\.0\.0\/40/);
});
