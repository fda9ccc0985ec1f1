import { mkdir, mkdtemp, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';
import { GitError, runGit, type RunGitOptions } from './exec.ts';

/**
 * The git cache directory:
 *
 *   <cacheDir>/
 *     home/                 empty HOME and cwd of every git run
 *     known_hosts           SSH host keys, accepted the first time and pinned after
 *     mirrors/<key>.git     one bare repository per GitSource.cacheKey; fetched commits stay reachable
 *                           under refs/buildgrid/<sha>, branches (after a full fetch) under refs/remotes/origin/*
 *     mirrors/<key>.lock    the mirror's cross-process lock (lock.ts)
 *     tmp/                  deploy-key files and temporary indexes, each removed after use
 *
 * A mirror never holds a URL or a credential: every fetch names the URL on the command line.
 */

export interface CacheLayout { root: string; home: string; knownHosts: string; mirrors: string; tmp: string }

/** The layout under `cacheDir`, creating its directories. */
export async function prepareCache(cacheDir: string): Promise<CacheLayout> {
  const layout = {
    root: cacheDir,
    home: join(cacheDir, 'home'),
    knownHosts: join(cacheDir, 'known_hosts'),
    mirrors: join(cacheDir, 'mirrors'),
    tmp: join(cacheDir, 'tmp'),
  };
  for (const dir of [layout.home, layout.mirrors, layout.tmp]) await mkdir(dir, { recursive: true, mode: 0o700 });
  return layout;
}

/** Paths of the mirror for `cacheKey`. Throws AppError INVALID for a key that is not a plain file name. */
export function mirrorPaths(layout: CacheLayout, cacheKey: string): { gitDir: string; lock: string } {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/.test(cacheKey)) {
    throw new AppError('INVALID', `git cache key "${cacheKey}" must be 1-128 letters, digits, ".", "_" or "-" (use cacheKeyFor(url))`);
  }
  return { gitDir: join(layout.mirrors, `${cacheKey}.git`), lock: join(layout.mirrors, `${cacheKey}.lock`) };
}

/**
 * Makes sure a bare repository exists at `gitDir` (created under a temporary name and renamed into place, so a
 * half-initialised mirror is never seen) and removes git lock files a killed run left behind. Call with the mirror
 * lock held: any git lock file found then is stale. Resolves to true when the mirror was created.
 */
export async function openMirror(gitDir: string, git: RunGitOptions): Promise<boolean> {
  if (await exists(join(gitDir, 'HEAD'))) {
    await removeStaleGitLocks(gitDir);
    return false;
  }
  await rm(gitDir, { recursive: true, force: true }); // a directory without HEAD is debris
  const tmp = await mkdtemp(`${gitDir}.init-`);
  try {
    await runGit(['init', '--bare', '--quiet', tmp], git);
    await runGit(['--git-dir', tmp, 'config', 'core.logAllRefUpdates', 'false'], git);
    await rename(tmp, gitDir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return true;
}

/** True when the mirror has `commit` as a commit object. */
export async function hasCommit(gitDir: string, commit: string, git: RunGitOptions): Promise<boolean> {
  try {
    await runGit(['--git-dir', gitDir, 'cat-file', '-e', `${commit}^{commit}`], git);
    return true;
  } catch (err) {
    if (err instanceof GitError && err.reason === 'exit') return false;
    throw err;
  }
}

async function removeStaleGitLocks(gitDir: string): Promise<void> {
  const candidates = ['HEAD.lock', 'config.lock', 'packed-refs.lock', 'shallow.lock', 'index.lock'].map((f) => join(gitDir, f));
  const refs = await readdir(join(gitDir, 'refs'), { recursive: true }).catch(() => [] as string[]);
  for (const rel of refs) if (rel.endsWith('.lock')) candidates.push(join(gitDir, 'refs', rel));
  for (const file of candidates) await unlink(file).catch(() => {});
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
