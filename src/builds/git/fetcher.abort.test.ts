import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import type { GitSource } from '../types.ts';
import { makeGitRepo } from '../../../test/support/git-repos.ts';
import { startHangingServer } from '../../../test/support/git-http.ts';
import { processesMentioning, waitForNoProcesses } from '../../../test/support/git-procs.ts';
import { createNetGuard } from '../../core/netguard.ts';
import { createGitFetcher } from './fetcher.ts';

// The git servers here are on loopback, which fetches refuse by default (fetcher.guard.test.ts): allowed explicitly.
const LOOPBACK = createNetGuard({ allow: ['127.0.0.0/8'] });

let root: string;
let hang: Awaited<ReturnType<typeof startHangingServer>>;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bg-git-abort-'));
  hang = await startHangingServer();
});
after(async () => {
  await hang?.stop();
  await rm(root, { recursive: true, force: true });
});

const marker = () => `127.0.0.1:${hang.port}`;
const src = (path: string, auth: GitSource['auth'] = { kind: 'none' }, cacheKey = path): GitSource => ({ url: hang.url(path), auth, cacheKey });

/** Starts `run`, waits until git is connected to the silent server, aborts 200 ms later and checks it ends at once. */
async function abortsQuickly(run: (signal: AbortSignal) => Promise<unknown>): Promise<void> {
  const ac = new AbortController();
  const connected = hang.connections();
  const pending = run(ac.signal);
  pending.catch(() => {});
  const until = Date.now() + 10_000;
  while (hang.connections() === connected && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert.ok(hang.connections() > connected, 'git connected to the server');
  await new Promise((r) => setTimeout(r, 200));
  const abortedAt = Date.now();
  ac.abort();
  await assert.rejects(pending, (err: Error) => {
    assert.equal(err.name, 'AbortError', String(err));
    assert.ok(isAppError(err), 'an AppError named AbortError');
    return true;
  });
  const elapsed = Date.now() - abortedAt;
  assert.ok(elapsed < 1500, `rejected ${elapsed} ms after the abort`);
  assert.deepEqual(await waitForNoProcesses(marker(), 1000), [], 'no git process is left');
}

test('aborting resolveBranch against a server that never answers kills git at once', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: false, guard: LOOPBACK });
  await abortsQuickly((signal) => f.resolveBranch(src('slow-branch'), 'main', { signal }));
});

test('aborting a checkout kills git, releases the mirror lock and leaves the mirror usable', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: true, guard: LOOPBACK });
  await abortsQuickly((signal) => f.checkout(src('slow-checkout', { kind: 'none' }, 'shared'), 'c'.repeat(40), join(root, 'out1'), { signal }));
  // Same mirror (cacheKey), a working repository: neither the lock nor a stale git lock file gets in the way.
  const repo = await makeGitRepo(join(root, 'repo'), { 'a.txt': 'a\n' });
  const info = await f.checkout({ url: repo.url, auth: { kind: 'none' }, cacheKey: 'shared' }, repo.head(), join(root, 'out2'), {});
  assert.equal(info.commit, repo.head());
  assert.equal(await readFile(join(root, 'out2', 'a.txt'), 'utf8'), 'a\n');
});

test('an already aborted signal rejects before git starts', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: false, guard: LOOPBACK });
  const before = hang.connections();
  await assert.rejects(f.resolveBranch(src('never'), 'main', { signal: AbortSignal.abort() }), { name: 'AbortError' });
  assert.equal(hang.connections(), before);
});

test('a timeout is INVALID naming the host, and kills git too', async () => {
  const f = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: false, guard: LOOPBACK, lsRemoteTimeoutMs: 300 });
  await assert.rejects(f.resolveBranch(src('timeout'), 'main', {}), (err: unknown) => {
    assert.ok(isAppError(err, 'INVALID'), String(err));
    assert.match(err.message, /timed out.*http:\/\/127\.0\.0\.1:\d+\/timeout/);
    return true;
  });
  assert.deepEqual(await waitForNoProcesses(marker(), 1000), []);
});

test('the token is sent as a Basic header and never appears in any process arguments', async () => {
  const token = 'tok-ARGV-CHECK-42';
  const f = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: false, guard: LOOPBACK });
  const ac = new AbortController();
  const seen = hang.headers.length;
  const pending = f.resolveBranch(src('argv', { kind: 'token', username: 'u', token }), 'main', { signal: ac.signal });
  const until = Date.now() + 10_000;
  while (hang.headers.length === seen && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const procs = processesMentioning(marker());
  assert.ok(procs.length > 0, 'git is running');
  for (const p of procs) assert.ok(!p.cmdline.includes(token) && !p.cmdline.includes(Buffer.from(`u:${token}`).toString('base64')), p.cmdline);
  assert.equal(hang.headers.at(-1)?.authorization, `Basic ${Buffer.from(`u:${token}`).toString('base64')}`);
  ac.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  assert.deepEqual(await waitForNoProcesses(marker(), 1000), []);
});
