import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import type { GitSource } from '../types.ts';
import { createNetGuard } from '../../core/netguard.ts';
import { createGitFetcher } from './fetcher.ts';
import { generateDeployKey } from './deploy-keys.ts';

// No SSH server here: a fake `ssh` records how git called it and what the key file looked like, then refuses the
// key the way OpenSSH does. example.com "resolves" through a fixed table (no DNS query leaves the machine); ssh is
// pointed at that checked address, with the host key kept under the name.
const ADDRESS = '93.184.215.14';
const guard = createNetGuard({ allow: false, resolver: async (h) => (h === 'example.com' ? [{ address: ADDRESS, family: 4 }] : []) });

let root: string;
let fakeSsh: string;
let record: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bg-git-ssh-'));
  record = join(root, 'record.txt');
  fakeSsh = join(root, 'fake ssh'); // a space: GIT_SSH_COMMAND is run by sh, so paths must be quoted
  await writeFile(fakeSsh, `#!/bin/sh
log='${record}'
: > "$log"
key=""; prev=""
for a in "$@"; do printf 'ARG %s\\n' "$a" >> "$log"; [ "$prev" = "-i" ] && key="$a"; prev="$a"; done
if [ -n "$key" ]; then printf 'KEYFILE %s\\nMODE %s\\n' "$key" "$(stat -c %a "$key")" >> "$log"; cat "$key" >> "$log"; fi
echo "git@example.com: Permission denied (publickey)." >&2
exit 255
`, { mode: 0o755 });
});
after(async () => { await rm(root, { recursive: true, force: true }); });

const src = (url: string, auth: GitSource['auth']): GitSource => ({ url, auth, cacheKey: 'ssh-test' });

test('an ssh deploy key is used through a 0600 temporary file that is removed afterwards', async () => {
  const cacheDir = join(root, 'cache');
  const f = createGitFetcher({ cacheDir, allowLocal: false, sshProgram: fakeSsh, guard });
  const key = await generateDeployKey('buildgrid test');
  await assert.rejects(f.resolveBranch(src('git@example.com:acme/web.git', { kind: 'ssh', privateKey: key.privateKey }), 'main', {}), (err: unknown) => {
    assert.ok(isAppError(err, 'INVALID'), String(err));
    assert.match(err.message, /git host refused the deploy key/);
    assert.ok(!err.message.includes(key.privateKey.split('\n')[1]!));
    return true;
  });
  const log = await readFile(record, 'utf8');
  const args = log.split('\n').filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4));
  for (const want of ['IdentitiesOnly=yes', 'StrictHostKeyChecking=accept-new', `UserKnownHostsFile=${join(cacheDir, 'known_hosts')}`, 'BatchMode=yes', 'IdentityAgent=none']) {
    assert.ok(args.includes(want), `${want} in ${args.join(' ')}`);
  }
  assert.ok(args.includes(`git@${ADDRESS}`), args.join(' '));
  assert.ok(args.includes('HostKeyAlias=example.com'));
  assert.equal(args[args.indexOf('-F') + 1], '/dev/null');
  assert.match(log, /^MODE 600$/m);
  assert.ok(log.includes(key.privateKey), 'the key file holds the private key');
  const keyFile = /^KEYFILE (.*)$/m.exec(log)![1]!;
  await assert.rejects(access(keyFile), 'the key file is deleted');
  assert.deepEqual(await readdir(join(cacheDir, 'tmp')), []);
});

test('a key pasted with CRLF line endings and no final newline still works', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: false, sshProgram: fakeSsh, guard });
  const key = await generateDeployKey('crlf');
  const pasted = key.privateKey.trimEnd().replaceAll('\n', '\r\n');
  await assert.rejects(f.resolveBranch(src('ssh://git@example.com:2222/acme/web.git', { kind: 'ssh', privateKey: pasted }), 'main', {}), /deploy key/);
  const log = await readFile(record, 'utf8');
  assert.ok(log.includes(key.privateKey));
  assert.match(log, /^ARG 2222$/m);
});

test('without a key, ssh offers no key at all (not the server\'s own)', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: false, sshProgram: fakeSsh, guard });
  await assert.rejects(f.resolveBranch(src('git@example.com:acme/web.git', { kind: 'none' }), 'main', {}), /generate a deploy key/);
  const args = (await readFile(record, 'utf8')).split('\n');
  assert.ok(args.includes('ARG PubkeyAuthentication=no'));
  assert.ok(!args.includes('ARG -i'));
});

test('a credential that does not fit the URL is INVALID', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: false, sshProgram: fakeSsh, guard });
  await assert.rejects(f.resolveBranch(src('git@example.com:acme/web.git', { kind: 'token', username: 'u', token: 't0ken' }), 'main', {}),
    (err: unknown) => isAppError(err, 'INVALID') && /git token works only with https/.test(err.message));
  await assert.rejects(f.resolveBranch(src('https://example.com/acme/web.git', { kind: 'ssh', privateKey: 'x' }), 'main', {}),
    (err: unknown) => isAppError(err, 'INVALID') && /deploy key works only with ssh/.test(err.message));
});
