import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readFile, readlink, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import type { GitSource } from '../types.ts';
import { makeGitRepo, TEST_AUTHOR, type TestRepo } from '../../../test/support/git-repos.ts';
import { createGitFetcher } from './fetcher.ts';
import { cacheKeyFor } from './urls.ts';

let root: string;
let repo: TestRepo;
let first: string;
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bg-git-checkout-'));
  repo = await makeGitRepo(join(root, 'repos', 'app'), {
    'Dockerfile': 'FROM scratch\nCOPY . /\n',
    'bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
    'src/main.txt': 'hello\n',
    'link-to-main': { symlink: 'src/main.txt' },
  }, { message: 'first commit\n\nwith a body line' });
  first = repo.head();
});
after(async () => { await rm(root, { recursive: true, force: true }); });

const source = (url = repo.url): GitSource => ({ url, auth: { kind: 'none' }, cacheKey: cacheKeyFor(url) });
const dest = () => join(root, 'out', String(++n));
const fetcher = (cache = 'cache') => createGitFetcher({ cacheDir: join(root, cache), allowLocal: true });

test('checkout over file:// writes the tree with modes and symlinks and returns the commit info', async () => {
  const out = dest();
  const lines: string[] = [];
  const info = await fetcher().checkout(source(), first, out, { log: (l) => lines.push(l) });
  assert.deepEqual(info, {
    commit: first,
    author: `${TEST_AUTHOR.name} <${TEST_AUTHOR.email}>`,
    date: (await repo.git('log', '-1', '--format=%aI', first)).trim(),
    message: 'first commit\n\nwith a body line',
  });
  assert.match(info.date, /^2024-01-01T00:00:\d\d\+00:00$/);
  assert.deepEqual((await readdir(out)).sort(), ['Dockerfile', 'bin', 'link-to-main', 'src']);
  assert.equal(await readFile(join(out, 'src/main.txt'), 'utf8'), 'hello\n');
  assert.equal((await stat(join(out, 'bin/run.sh'))).mode & 0o111, 0o111);
  assert.equal((await stat(join(out, 'src/main.txt'))).mode & 0o111, 0);
  assert.ok((await lstat(join(out, 'link-to-main'))).isSymbolicLink());
  assert.equal(await readlink(join(out, 'link-to-main')), 'src/main.txt');
  assert.ok(lines.some((l) => l.includes(`fetching ${first}`)), lines.join('\n'));
});

test('a second checkout of a new commit reuses the mirror and fetches only the difference', async () => {
  const f = fetcher('cache-incremental');
  const firstLog: string[] = [];
  await f.checkout(source(), first, dest(), { log: (l) => firstLog.push(l) });
  const mirrors = await readdir(join(root, 'cache-incremental', 'mirrors'));
  const marker = join(root, 'cache-incremental', 'mirrors', `${cacheKeyFor(repo.url)}.git`, 'marker');
  await writeFile(marker, 'still here');

  await repo.checkout('main');
  const second = await repo.commit({ 'src/main.txt': 'hello again\n' }, 'second commit');
  const secondLog: string[] = [];
  const out = dest();
  const info = await f.checkout(source(), second, out, { log: (l) => secondLog.push(l) });
  assert.equal(info.commit, second);
  assert.equal(await readFile(join(out, 'src/main.txt'), 'utf8'), 'hello again\n');
  assert.deepEqual(await readdir(join(root, 'cache-incremental', 'mirrors')), mirrors);
  assert.equal(await readFile(marker, 'utf8'), 'still here');
  const total = (log: string[]) => Number(/Total (\d+)/.exec(log.join('\n'))?.[1]);
  assert.equal(total(firstLog), 8, firstLog.join('\n')); // commit, 3 trees, 4 blobs (Dockerfile, run.sh, main.txt, link)
  assert.equal(total(secondLog), 4, secondLog.join('\n')); // only the new commit, root tree, src/ tree and blob
  // A commit already in the mirror is not fetched again.
  const thirdLog: string[] = [];
  await f.checkout(source(), first, dest(), { log: (l) => thirdLog.push(l) });
  assert.ok(thirdLog.some((l) => l.includes('already in the git cache')), thirdLog.join('\n'));
  assert.ok(!thirdLog.some((l) => /Total \d+/.test(l)), thirdLog.join('\n'));
});

test('concurrent checkouts of the same repository share one mirror without corrupting it', async () => {
  const f = fetcher('cache-concurrent');
  const shas = [first];
  await repo.checkout('main');
  for (let i = 0; i < 3; i++) shas.push(await repo.commit({ [`file${i}.txt`]: `${i}\n` }, `commit ${i}`));
  const outs = shas.flatMap((sha) => [sha, sha]).map((sha) => ({ sha, out: dest() }));
  const infos = await Promise.all(outs.map(({ sha, out }) => f.checkout(source(), sha, out, {})));
  assert.deepEqual(infos.map((i) => i.commit), outs.map((o) => o.sha));
  for (const { sha, out } of outs) {
    const k = shas.indexOf(sha);
    assert.equal((await readdir(out)).filter((e) => e.startsWith('file')).length, k, out);
  }
  assert.deepEqual((await readdir(join(root, 'cache-concurrent', 'mirrors'))).sort(), [`${cacheKeyFor(repo.url)}.git`]);
  assert.deepEqual(await readdir(join(root, 'cache-concurrent', 'tmp')), []);
  // A second fetcher instance in the same process and cache (the file lock path) works too.
  await Promise.all([fetcher('cache-concurrent').checkout(source(), first, dest(), {}), f.checkout(source(), shas[3]!, dest(), {})]);
});

test('submodules are ignored with a log line', async () => {
  const sub = await makeGitRepo(join(root, 'repos', 'with-sub'), { 'README': 'x\n' });
  const sha = await sub.commit({
    'vendor/lib': { gitlink: first },
    '.gitmodules': '[submodule "lib"]\n\tpath = vendor/lib\n\turl = https://example.com/lib.git\n',
  }, 'add submodule');
  const lines: string[] = [];
  const out = dest();
  await fetcher().checkout(source(sub.url), sha, out, { log: (l) => lines.push(l) });
  assert.ok(lines.some((l) => l.includes('ignoring submodule vendor/lib')), lines.join('\n'));
  assert.deepEqual(await readdir(join(out, 'vendor/lib')), []);
});

test('an unknown commit is NOT_FOUND; a malformed hash or a non-empty destination is INVALID', async () => {
  const missing = 'f'.repeat(40);
  await assert.rejects(fetcher().checkout(source(), missing, dest(), {}), (err: unknown) => {
    assert.ok(isAppError(err, 'NOT_FOUND'), String(err));
    assert.match(err.message, new RegExp(`commit ${missing} is not in file://`));
    return true;
  });
  await assert.rejects(fetcher().checkout(source(), 'HEAD', dest(), {}), /not a full commit hash/);
  await assert.rejects(fetcher().checkout(source(), '--upload-pack=x', dest(), {}), /not a full commit hash/);
  const busy = dest();
  await mkdir(busy, { recursive: true });
  await writeFile(join(busy, 'x'), '');
  await assert.rejects(fetcher().checkout(source(), first, busy, {}), /is not empty/);
});

test('a missing repository is NOT_FOUND and file:// is refused unless local git is allowed', async () => {
  const url = `file://${join(root, 'repos', 'nope')}`;
  await assert.rejects(fetcher().checkout(source(url), first, dest(), {}), (err: unknown) => isAppError(err, 'NOT_FOUND') && /no git repository/.test(err.message));
  const strict = createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: false });
  await assert.rejects(strict.checkout(source(), first, dest(), {}), /BUILDGRID_ALLOW_LOCAL_GIT=true/);
  await assert.rejects(strict.resolveBranch(source(), 'main', {}), /BUILDGRID_ALLOW_LOCAL_GIT=true/);
});

test('a cached commit is still refused when its repository is no longer reachable', async () => {
  const gone = await makeGitRepo(join(root, 'repos', 'gone'), { 'a': '1\n' });
  const sha = gone.head();
  const f = fetcher('cache-gone');
  await f.checkout(source(gone.url), sha, dest(), {});
  await rm(gone.path, { recursive: true, force: true });
  await assert.rejects(f.checkout(source(gone.url), sha, dest(), {}), (err: unknown) => isAppError(err, 'NOT_FOUND'));
});
