import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';
import type { CommitInfo } from '../types.ts';
import { GitError, runGit, type RunGitOptions } from './exec.ts';

/**
 * Writing a commit's files out of the bare mirror, the way `git clone` would have written them, without a worktree:
 * `read-tree` into a temporary index, then `checkout-index -a` into the destination. Git itself writes the files, so
 * modes (644/755), symlinks and .gitattributes conversions (eol, ident) come out as in a clone, and git's own path
 * checks (no `.git` entries, nothing outside the tree) apply. `git archive` was the alternative; it obeys
 * `export-ignore`/`export-subst`, which would silently change the build context.
 * Submodules (gitlinks) are not fetched: they become empty directories and are named in the log. LFS files stay
 * pointer files (no LFS filter is configured).
 */

/** Creates `dest` if absent. Throws AppError INVALID when it exists and is not an empty directory. */
export async function prepareDest(dest: string): Promise<void> {
  const notDir = () => { throw new AppError('INVALID', `checkout directory ${dest} is not a directory`); };
  await mkdir(dest, { recursive: true }).catch(notDir);
  const entries = await readdir(dest).catch(notDir);
  if (entries.length > 0) throw new AppError('INVALID', `checkout directory ${dest} is not empty`);
}

/**
 * Writes the tree of `commit` into `dest` (created if absent; must be empty). Throws AppError INVALID when `dest` is
 * not empty. When git is killed half-way, `dest` holds part of the tree: the caller discards it.
 */
export async function exportTree(
  gitDir: string, commit: string, dest: string, tmpDir: string, git: RunGitOptions, log?: (line: string) => void,
): Promise<void> {
  await prepareDest(dest);
  const work = await mkdtemp(join(tmpDir, 'index-'));
  const withIndex: RunGitOptions = { ...git, env: { ...git.env, GIT_INDEX_FILE: join(work, 'index') } };
  try {
    await runGit(['--git-dir', gitDir, 'read-tree', commit], withIndex);
    for (const path of await submodules(gitDir, commit, git)) log?.(`ignoring submodule ${path}: submodules are not fetched, it stays an empty directory`);
    await runGit(['-c', 'core.autocrlf=false', '-c', 'core.symlinks=true', '--git-dir', gitDir, '--work-tree', dest,
      'checkout-index', '--all', '--force'], withIndex);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Paths of the gitlinks in `commit`; cheap when the commit has no .gitmodules (the usual case). */
async function submodules(gitDir: string, commit: string, git: RunGitOptions): Promise<string[]> {
  try {
    await runGit(['--git-dir', gitDir, 'cat-file', '-e', `${commit}:.gitmodules`], git);
  } catch (err) {
    if (err instanceof GitError && err.reason === 'exit') return [];
    throw err;
  }
  const { stdout } = await runGit(['--git-dir', gitDir, 'ls-tree', '-r', '-z', '--full-tree', commit], git);
  return stdout.split('\0').filter((e) => e.startsWith('160000 ')).map((e) => e.slice(e.indexOf('\t') + 1));
}

/** What `commit` says about itself: full hash, author "Name <email>", author date (ISO 8601), full message. */
export async function commitInfo(gitDir: string, commit: string, git: RunGitOptions): Promise<CommitInfo> {
  const { stdout } = await runGit(['--git-dir', gitDir, 'log', '-1', '--no-show-signature', '--format=%H%x00%an <%ae>%x00%aI%x00%B', commit, '--'], git);
  const [hash = '', author = '', date = '', ...rest] = stdout.split('\0');
  return { commit: hash, author, date, message: rest.join('\0').trimEnd() };
}
