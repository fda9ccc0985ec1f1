import { after, before, test } from 'node:test';
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import type { GitSource } from '../types.ts';
import { gitTestEnv, makeGitRepo, type TestRepo } from '../../../test/support/git-repos.ts';
import { startGitHttpServer, type GitHttpServer } from '../../../test/support/git-http.ts';
import { createNetGuard } from '../../core/netguard.ts';
import { createGitFetcher } from './fetcher.ts';
import { cacheKeyFor } from './urls.ts';

// The git servers here are on loopback, which fetches refuse by default (fetcher.guard.test.ts): allowed explicitly.
const LOOPBACK = createNetGuard({ allow: ['127.0.0.0/8'] });

const USER = 'buildgrid';
const TOKEN = 'glpat-SUPERSECRET-token-123';
const BASIC = Buffer.from(`${USER}:${TOKEN}`).toString('base64');

let root: string;
let repo: TestRepo;
let open: GitHttpServer;
let locked: GitHttpServer;
let v0: GitHttpServer;
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bg-git-http-'));
  repo = await makeGitRepo(join(root, 'repos', 'web'), { 'Dockerfile': 'FROM scratch\n', 'app.txt': 'v1\n' });
  open = await startGitHttpServer({ root: join(root, 'repos') });
  locked = await startGitHttpServer({ root: join(root, 'repos'), requireToken: { username: USER, token: TOKEN } });
  v0 = await startGitHttpServer({ root: join(root, 'repos'), protocolV0: true });
});
after(async () => {
  await Promise.all([open?.stop(), locked?.stop(), v0?.stop()]);
  await rm(root, { recursive: true, force: true });
});

const src = (url: string, auth: GitSource['auth'] = { kind: 'none' }): GitSource => ({ url, auth, cacheKey: cacheKeyFor(url) });
const token = (t = TOKEN): GitSource['auth'] => ({ kind: 'token', username: USER, token: t });
const dest = () => join(root, 'out', String(++n));

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
}

test('checkout and branch resolution over smart HTTP without credentials', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache-open'), allowLocal: false, guard: LOOPBACK });
  const url = open.url('web');
  assert.equal(await f.resolveBranch(src(url), 'main', {}), repo.head());
  const out = dest();
  const info = await f.checkout(src(url), repo.head(), out, {});
  assert.equal(info.commit, repo.head());
  assert.equal(await readFile(join(out, 'app.txt'), 'utf8'), 'v1\n');
  assert.ok(open.requests.some((r) => r.path.includes('git-upload-pack') && r.method === 'POST' && r.status === 200));
});

test('a repository that needs a token: right token works, none or a wrong one is a clear INVALID', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache-locked'), allowLocal: false, guard: LOOPBACK });
  const url = locked.url('web');
  await assert.rejects(f.resolveBranch(src(url), 'main', {}), (err: unknown) => {
    assert.ok(isAppError(err, 'INVALID'), String(err));
    assert.match(err.message, /repository is private, set the service's git token/);
    return true;
  });
  for (const attempt of [() => f.resolveBranch(src(url, token('wrong-token-value')), 'main', {}),
    () => f.checkout(src(url, token('wrong-token-value')), repo.head(), dest(), {})]) {
    await assert.rejects(attempt(), (err: unknown) => {
      assert.ok(isAppError(err, 'INVALID'), String(err));
      assert.match(err.message, /git host refused the credentials: check the service's git token/);
      assert.doesNotMatch(err.message + JSON.stringify(err.detail), /wrong-token-value/);
      return true;
    });
  }
  assert.equal(await f.resolveBranch(src(url, token()), 'main', {}), repo.head());
  const out = dest();
  assert.equal((await f.checkout(src(url, token()), repo.head(), out, {})).commit, repo.head());
  assert.equal(await readFile(join(out, 'app.txt'), 'utf8'), 'v1\n');
});

test('the token never lands in the mirror, the cache, the log or an error message', async () => {
  const cacheDir = join(root, 'cache-secret');
  const f = createGitFetcher({ cacheDir, allowLocal: false, guard: LOOPBACK });
  const url = locked.url('web');
  const lines: string[] = [];
  await f.checkout(src(url, token()), repo.head(), dest(), { log: (l) => lines.push(l) });
  const second = await repo.commit({ 'app.txt': 'v2\n' }, 'second');
  await f.checkout(src(url, token()), second, dest(), { log: (l) => lines.push(l) });
  for (const file of await filesUnder(cacheDir)) {
    const text = await readFile(file, 'latin1');
    for (const secret of [TOKEN, BASIC]) assert.ok(!text.includes(secret), `${secret} found in ${file}`);
  }
  assert.ok(lines.length > 0);
  assert.ok(!lines.join('\n').includes(TOKEN) && !lines.join('\n').includes(BASIC));
  assert.deepEqual(await readdir(join(cacheDir, 'tmp')), []);
  // A failing fetch whose stderr would mention the header still redacts it.
  await assert.rejects(f.checkout(src(url, token()), 'e'.repeat(40), dest(), {}), (err: unknown) => {
    assert.ok(isAppError(err, 'NOT_FOUND'), String(err));
    assert.ok(!(err.message + JSON.stringify(err.detail)).includes(TOKEN));
    return true;
  });
});

test('a server that refuses fetching by hash (protocol v0) gets a full fetch instead', async () => {
  await repo.checkout('main');
  const old = repo.head();
  await repo.commit({ 'app.txt': 'v3\n' }, 'third'); // `old` is no longer a branch tip
  const f = createGitFetcher({ cacheDir: join(root, 'cache-v0'), allowLocal: false, guard: LOOPBACK });
  const lines: string[] = [];
  const out = dest();
  const info = await f.checkout(src(v0.url('web')), old, out, { log: (l) => lines.push(l) });
  assert.equal(info.commit, old);
  assert.ok(lines.some((l) => l.includes('would not send the commit by its hash')), lines.join('\n'));
  assert.equal(await readFile(join(out, 'app.txt'), 'utf8'), 'v2\n');
  await assert.rejects(f.checkout(src(v0.url('web')), 'a'.repeat(40), dest(), {}), (err: unknown) => isAppError(err, 'NOT_FOUND'));
});

test('a repository path that does not exist on the server is NOT_FOUND', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache-missing'), allowLocal: false, guard: LOOPBACK });
  await assert.rejects(f.resolveBranch(src(open.url('nope')), 'main', {}), (err: unknown) => {
    assert.ok(isAppError(err, 'NOT_FOUND'), String(err));
    assert.match(err.message, /no git repository at http:\/\/127\.0\.0\.1:\d+\/nope/);
    return true;
  });
});

test('large negotiation requests arrive gzip-compressed and are served', async () => {
  const many = await makeGitRepo(join(root, 'repos', 'many'), { 'base.txt': 'base\n' });
  const old = many.head();
  // 40 branches with a commit each, in one git run.
  const stream = Array.from({ length: 40 }, (_, i) => [`commit refs/heads/topic-${i}`, 'committer T <t@test.local> 1704067200 +0000',
    'data 6', `topic${i % 10}`, `from ${old}`, `M 644 inline t${i}.txt`, `data ${String(i).length}`, String(i), ''].join('\n')).join('\n');
  execFileSync('git', ['fast-import', '--quiet'], { cwd: many.path, input: stream + '\n', env: gitTestEnv() });
  await many.commit({ 'base.txt': 'next\n' }, 'next');
  const f = createGitFetcher({ cacheDir: join(root, 'cache-gzip'), allowLocal: false, guard: LOOPBACK });
  const info = await f.checkout(src(v0.url('many')), old, dest(), {}); // v0: a full fetch wants all 41 branches
  assert.equal(info.commit, old);
  assert.ok(v0.requests.some((r) => r.method === 'POST' && r.encoding === 'gzip' && r.status === 200), JSON.stringify(v0.requests));
});
