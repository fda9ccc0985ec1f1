import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../../core/errors.ts';
import type { GitSource } from '../types.ts';
import { makeGitRepo, type TestRepo } from '../../../test/support/git-repos.ts';
import { createGitFetcher } from './fetcher.ts';

let root: string;
let repo: TestRepo;
let mainHead: string;
let featureHead: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bg-git-branch-'));
  repo = await makeGitRepo(join(root, 'app'), { 'a.txt': '1\n' });
  mainHead = repo.head();
  await repo.branch('feature/login');
  featureHead = await repo.commit({ 'b.txt': '2\n' }, 'feature work');
  for (const name of ['release-1', 'release-2', 'zz-old']) await repo.git('branch', name, mainHead);
  await repo.git('tag', 'v1.0', mainHead);
});
after(async () => { await rm(root, { recursive: true, force: true }); });

const src = (url = repo.url): GitSource => ({ url, auth: { kind: 'none' }, cacheKey: 'k' });
const fetcher = () => createGitFetcher({ cacheDir: join(root, 'cache'), allowLocal: true });

test('resolveBranch returns the head commit of the branch', async () => {
  assert.equal(await fetcher().resolveBranch(src(), 'main', {}), mainHead);
  assert.equal(await fetcher().resolveBranch(src(), 'feature/login', {}), featureHead);
  assert.equal(await fetcher().resolveBranch(src(), 'refs/heads/main', {}), mainHead);
});

test('a missing branch is NOT_FOUND naming it and listing existing branches, main first', async () => {
  await assert.rejects(fetcher().resolveBranch(src(), 'login', {}), (err: unknown) => {
    assert.ok(isAppError(err, 'NOT_FOUND'), String(err));
    assert.match(err.message, /branch "login" does not exist in file:\/\/.*; existing branches: main, feature\/login, release-1, release-2, zz-old$/);
    return true;
  });
  // A tag is not a branch, and a pattern must not match a longer name's tail.
  await assert.rejects(fetcher().resolveBranch(src(), 'v1.0', {}), (err: unknown) => isAppError(err, 'NOT_FOUND'));
  await assert.rejects(fetcher().resolveBranch(src(), 'login', {}), /existing branches/);
});

test('a repository without branches says so', async () => {
  const empty = await makeGitRepo(join(root, 'empty'), {});
  await assert.rejects(fetcher().resolveBranch(src(empty.url), 'main', {}), /has no branches yet/);
});

test('invalid branch names are INVALID before git runs', async () => {
  for (const bad of ['', '-b', '--upload-pack=x', 'a..b', 'a b', 'a~1', 'x^', 'a:b', 'ends/', 'ends.', '.hidden', 'a/.x', 'x.lock', 'a@{1}', '@', 'a\\b', 'a*']) {
    await assert.rejects(fetcher().resolveBranch(src(), bad, {}), (err: unknown) => isAppError(err, 'INVALID') && /not a valid git branch name/.test(err.message), bad);
  }
});
