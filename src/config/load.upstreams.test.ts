import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load.ts';

test('upstreams default to the public registries, and upstreamTagTtlSeconds to 300', () => {
  const c = loadConfig({ env: {} });
  assert.deepEqual(Object.keys(c.upstreams).sort(), ['docker.io', 'ghcr.io', 'mcr.microsoft.com', 'public.ecr.aws', 'quay.io', 'registry.k8s.io']);
  assert.equal(c.upstreams['docker.io']!.url, 'https://registry-1.docker.io');
  assert.equal(c.upstreamTagTtlSeconds, 300);
});

test('BUILDGRID_UPSTREAMS is JSON merged over the defaults: repoint, add, disable', () => {
  const c = loadConfig({
    env: {
      BUILDGRID_UPSTREAMS: JSON.stringify({
        'docker.io': { url: 'http://127.0.0.1:5002', username: 'u', password: 'p' },
        'registry.example.com': { url: 'https://registry.example.com', insecure: true },
        'quay.io': false,
        'mcr.microsoft.com': null,
      }),
      BUILDGRID_UPSTREAM_TAG_TTL_SECONDS: '60',
    },
  });
  assert.deepEqual(c.upstreams['docker.io'], { url: 'http://127.0.0.1:5002', username: 'u', password: 'p' });
  assert.deepEqual(c.upstreams['registry.example.com'], { url: 'https://registry.example.com', insecure: true });
  assert.equal(c.upstreams['quay.io'], undefined);
  assert.equal(c.upstreams['mcr.microsoft.com'], undefined);
  assert.equal(c.upstreams['ghcr.io']!.url, 'https://ghcr.io');
  assert.equal(c.upstreamTagTtlSeconds, 60);
});

test('upstreams from the config file: an object', () => {
  const c = loadConfig({ env: {}, overrides: { upstreams: { 'ghcr.io': { url: 'http://127.0.0.1:5003' } } } });
  assert.equal(c.upstreams['ghcr.io']!.url, 'http://127.0.0.1:5003');
  assert.equal(c.upstreams['docker.io']!.url, 'https://registry-1.docker.io');
});

test('bad upstreams are refused naming what to fix', () => {
  const bad: Array<[unknown, RegExp]> = [
    ['{not json', /must hold JSON/],
    [[], /upstreams/],
    [{ 'Docker.IO': { url: 'https://x' } }, /not a registry host name/],
    [{ 'host:5000': { url: 'https://x' } }, /not a registry host name/],
    [{ 'docker.io': { url: 'ftp://x' } }, /docker\.io\.url/],
    [{ 'docker.io': { url: 'https://x/v2/' } }, /without a path/],
    [{ 'docker.io': { url: 'https://x', token: 'y' } }, /docker\.io/],
    [{ 'docker.io': true }, /docker\.io/],
  ];
  for (const [value, re] of bad) {
    assert.throws(() => loadConfig({ env: {}, overrides: { upstreams: value } }), (err: Error) => /upstreams/.test(err.message) && re.test(err.message), JSON.stringify(value));
  }
});
