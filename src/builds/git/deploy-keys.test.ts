import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import { generateDeployKey } from './deploy-keys.ts';

const leftovers = async () => (await readdir(tmpdir())).filter((e) => e.startsWith('buildgrid-key-'));

test('generateDeployKey makes a matching OpenSSH Ed25519 pair and leaves no files behind', async () => {
  const before = await leftovers();
  const key = await generateDeployKey('buildgrid acme/web.api');
  assert.match(key.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=* buildgrid acme\/web\.api$/);
  assert.match(key.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END OPENSSH PRIVATE KEY-----\n$/);
  assert.deepEqual(await leftovers(), before);

  // The private half derives the public half.
  const dir = await mkdtemp(join(tmpdir(), 'bg-keycheck-'));
  try {
    await writeFile(join(dir, 'k'), key.privateKey, { mode: 0o600 });
    const derived = execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'k')], { encoding: 'utf8' }).trim();
    assert.equal(derived.split(' ').slice(0, 2).join(' '), key.publicKey.split(' ').slice(0, 2).join(' '));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const other = await generateDeployKey('buildgrid acme/web.api');
  assert.notEqual(other.privateKey, key.privateKey);
});

test('a multi-line or overlong comment is INVALID', async () => {
  for (const bad of ['a\nb', 'x'.repeat(201), 'tab\there']) {
    await assert.rejects(generateDeployKey(bad), (err: unknown) => isAppError(err, 'INVALID'), JSON.stringify(bad));
  }
});
