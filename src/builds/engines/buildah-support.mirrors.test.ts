import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeConfigs } from './buildah-support.ts';

// registries.conf for builds through BuildGrid's pull-through cache: each upstream name is a prefix rewritten to
// <registry>/mirror/<name>, and short names search docker.io only when docker.io is mirrored.
async function registriesConf(o: Parameters<typeof writeConfigs>[2]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-regconf-'));
  try {
    await writeConfigs(join(dir, 'b'), 'vfs', o);
    return await readFile(join(dir, 'b', 'registries.conf'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const base = { registry: '127.0.0.1:5000', insecure: true, credentials: null, search: [] as string[] };

test('each mirrored registry is rewritten to <registry>/mirror/<name>, insecure like the registry; docker.io answers short names', async () => {
  const text = await registriesConf({ ...base, mirrors: ['docker.io', 'ghcr.io'] });
  assert.match(text, /^unqualified-search-registries = \["docker\.io"\]$/m);
  assert.match(text, /\[\[registry\]\]\nprefix = "docker\.io"\nlocation = "127\.0\.0\.1:5000\/mirror\/docker\.io"\ninsecure = true/);
  assert.match(text, /\[\[registry\]\]\nprefix = "ghcr\.io"\nlocation = "127\.0\.0\.1:5000\/mirror\/ghcr\.io"\ninsecure = true/);
  const tls = await registriesConf({ ...base, insecure: false, mirrors: ['docker.io'] });
  assert.match(tls, /location = "127\.0\.0\.1:5000\/mirror\/docker\.io"\ninsecure = false/);
});

test('without docker.io, or without mirrors, short names stay unresolved; explicit search registries win', async () => {
  assert.match(await registriesConf({ ...base, mirrors: ['ghcr.io'] }), /^unqualified-search-registries = \[\]$/m);
  const none = await registriesConf(base);
  assert.match(none, /^unqualified-search-registries = \[\]$/m);
  assert.doesNotMatch(none, /prefix/);
  assert.match(await registriesConf({ ...base, search: ['quay.io'], mirrors: ['docker.io'] }), /^unqualified-search-registries = \["quay\.io"\]$/m);
  assert.doesNotMatch(await registriesConf({ ...base, registry: null, mirrors: ['docker.io'] }), /mirror/);
});
