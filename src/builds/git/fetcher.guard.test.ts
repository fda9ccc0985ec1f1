import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import { createNetGuard, type ResolvedAddress } from '../../core/netguard.ts';
import type { GitSource } from '../types.ts';
import { makeGitRepo, type TestRepo } from '../../../test/support/git-repos.ts';
import { startGitHttpServer, type GitHttpServer } from '../../../test/support/git-http.ts';
import { createGitFetcher } from './fetcher.ts';
import { cacheKeyFor } from './urls.ts';

// Git hosts chosen by a tenant: a git URL on the server's loopback, a name that resolves there, a redirect from an
// allowed host to a refused one, a name whose answer changes between the check and git's own connection, and the same
// over ssh. Every git server here is on loopback (127.0.0.1 or 127.0.0.2); the ssh program is a fake that connects
// nowhere and records its arguments.

const REFUSED = /destination (?:localhost \()?127\.0\.0\.\d\)? is a private address \(loopback\); an administrator can allow it with allowPrivateNetworks/;
let root: string;
let repo: TestRepo;
let git: GitHttpServer;
let other: GitHttpServer;
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bg-git-guard-'));
  repo = await makeGitRepo(join(root, 'repos', 'web'), { Dockerfile: 'FROM scratch\n', 'app.txt': 'v1\n' });
  git = await startGitHttpServer({ root: join(root, 'repos') });
  other = await startGitHttpServer({ root: join(root, 'repos'), host: '127.0.0.2' });
});
after(async () => {
  await Promise.all([git?.stop(), other?.stop()]);
  await rm(root, { recursive: true, force: true });
});

const src = (url: string): GitSource => ({ url, auth: { kind: 'none' }, cacheKey: cacheKeyFor(url) });
const cache = () => join(root, `cache-${++n}`);
const refused = (pattern: RegExp) => (err: unknown) => {
  assert.ok(isAppError(err, 'INVALID'), String(err));
  assert.match(err.message, pattern);
  return true;
};

test('an HTTP git URL on 127.0.0.1 is refused by default, before git runs; allowPrivateNetworks lets it through', async () => {
  const before = git.requests.length;
  const strict = createGitFetcher({ cacheDir: cache(), allowLocal: false });
  await assert.rejects(strict.resolveBranch(src(git.url('web')), 'main', {}), refused(REFUSED));
  await assert.rejects(strict.checkout(src(git.url('web')), repo.head(), join(root, 'out', String(n)), {}), refused(REFUSED));
  assert.equal(git.requests.length, before, 'the git server was never asked');

  for (const allow of [true, ['127.0.0.0/8']]) {
    const open = createGitFetcher({ cacheDir: cache(), allowLocal: false, guard: createNetGuard({ allow }) });
    assert.equal(await open.resolveBranch(src(git.url('web')), 'main', {}), repo.head());
    const out = join(root, 'out', String(n));
    await open.checkout(src(git.url('web')), repo.head(), out, {});
    assert.equal(await readFile(join(out, 'app.txt'), 'utf8'), 'v1\n');
  }
});

test('a host name that resolves to loopback (localhost) is refused', async () => {
  const strict = createGitFetcher({ cacheDir: cache(), allowLocal: false });
  const before = git.requests.length;
  await assert.rejects(strict.resolveBranch(src(git.url('web').replace('127.0.0.1', 'localhost')), 'main', {}), refused(/destination localhost \(127\.0\.0\.1\) is a private address \(loopback\)/));
  assert.equal(git.requests.length, before);
});

test('a redirect from an allowed git host to a refused one is not followed', async () => {
  // 127.0.0.1 is allowed; it sends every request on to the same repository at 127.0.0.2, which is not.
  const redirector: Server = createServer((req, res) => res.writeHead(302, { location: `http://127.0.0.2:${other.port}${req.url}` }).end());
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
  const port = (redirector.address() as { port: number }).port;
  try {
    const f = createGitFetcher({ cacheDir: cache(), allowLocal: false, guard: createNetGuard({ allow: ['127.0.0.1/32'] }) });
    const before = other.requests.length;
    await assert.rejects(f.resolveBranch(src(`http://127.0.0.1:${port}/web`), 'main', {}), refused(/redirect/i));
    assert.equal(other.requests.length, before, 'the refused host was never asked');
  } finally {
    await new Promise((r) => redirector.close(r));
  }
});

test('git connects to the address that was checked, not to what the name resolves to later', async () => {
  // The guard's resolver says "localhost" is 127.0.0.2 (the only allowed address, where a git server listens); the
  // system's resolver (/etc/hosts, what git would ask) says 127.0.0.1, where nothing serves this port.
  const resolver = async (host: string): Promise<ResolvedAddress[]> => (host === 'localhost' ? [{ address: '127.0.0.2', family: 4 }] : []);
  const f = createGitFetcher({ cacheDir: cache(), allowLocal: false, guard: createNetGuard({ allow: ['127.0.0.2/32'], resolver }) });
  const url = `http://localhost:${other.port}/web`;
  const before = other.requests.length;
  assert.equal(await f.resolveBranch(src(url), 'main', {}), repo.head());
  assert.ok(other.requests.length > before, 'the checked address was the one git used');
});

test('ssh and scp-like URLs are checked too; git reaches the checked address with the host key kept under the name', async () => {
  const record = join(root, 'ssh-args.txt');
  const fakeSsh = join(root, 'fake-ssh');
  await writeFile(fakeSsh, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > '${record}'\necho "Permission denied (publickey)." >&2\nexit 255\n`, { mode: 0o755 });
  const strict = createGitFetcher({ cacheDir: cache(), allowLocal: false, sshProgram: fakeSsh });
  for (const url of ['git@localhost:acme/web.git', 'ssh://git@127.0.0.1:2222/acme/web.git', 'git@[::1]:acme/web.git', 'ssh://git@[::ffff:127.0.0.1]/acme/web.git']) {
    await writeFile(record, '');
    await assert.rejects(strict.resolveBranch(src(url), 'main', {}), refused(/is a private address \(loopback/), url);
    assert.equal(await readFile(record, 'utf8'), '', `ssh never ran for ${url}`);
  }
  // A public name: ssh is pointed at the address the guard checked, and its host key is looked up under the name.
  const resolver = async (host: string): Promise<ResolvedAddress[]> => (host === 'git.example.com' ? [{ address: '93.184.215.14', family: 4 }] : []);
  const f = createGitFetcher({ cacheDir: cache(), allowLocal: false, sshProgram: fakeSsh, guard: createNetGuard({ allow: false, resolver }) });
  const cases = [
    ['git@git.example.com:acme/web.git', 'git@93.184.215.14', 'git.example.com'],
    ['ssh://git@git.example.com:2222/acme/web.git', 'git@93.184.215.14', '[git.example.com]:2222'], // as known_hosts writes it
  ];
  for (const [url, target, alias] of cases) {
    await assert.rejects(f.resolveBranch(src(url!), 'main', {}), (err: unknown) => isAppError(err, 'INVALID'));
    const args = (await readFile(record, 'utf8')).split('\n');
    assert.ok(args.includes(target!), `ssh connects to the checked address: ${args.join(' ')}`);
    assert.ok(args.includes(`HostKeyAlias=${alias}`), `host key kept under the name: ${args.join(' ')}`);
    assert.ok(!args.some((a) => a.includes('git.example.com') && !a.startsWith('HostKeyAlias=')), 'the name is not resolved again by ssh');
  }
});
