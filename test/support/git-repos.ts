import { execFile, execFileSync } from 'node:child_process';
import { mkdir, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Real git repositories for tests: a working repository (non-bare, so git-http-backend and file:// serve it as is)
 * with a fixed identity and fixed, increasing commit dates, isolated from the machine's git config.
 */

const run = promisify(execFile);

/**
 * A file in a commit: text, text with a mode (0o755 for executables), a symlink, a submodule entry (gitlink to a
 * commit; it stays in later commits until set to null), or null to delete the path.
 */
export type FileSpec = string | { content: string | Buffer; mode?: number } | { symlink: string } | { gitlink: string } | null;

export interface Author { name: string; email: string }

export interface TestRepo {
  /** The working directory of the repository. */
  path: string;
  /** file:// URL of the repository. */
  url: string;
  /** Writes `files` (relative paths), stages everything and commits; resolves to the new commit's hash. */
  commit(files: Record<string, FileSpec>, message: string, author?: Author): Promise<string>;
  /** Creates branch `name` at HEAD and switches to it (later commits go there). */
  branch(name: string): Promise<void>;
  /** Switches to an existing branch. */
  checkout(name: string): Promise<void>;
  /** The hash HEAD points at. */
  head(): string;
  /** Runs any git command in the repository and returns its stdout. */
  git(...args: string[]): Promise<string>;
}

export const TEST_AUTHOR: Author = { name: 'Test Author', email: 'author@test.local' };
const BASE_DATE = Date.parse('2024-01-01T00:00:00Z') / 1000;
let tick = 0;

/** Isolated environment for git in tests: no system or user config, fixed committer. */
export function gitTestEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: '/nonexistent',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_COMMITTER_NAME: TEST_AUTHOR.name,
    GIT_COMMITTER_EMAIL: TEST_AUTHOR.email,
    ...extra,
  };
}

/**
 * Creates a repository at `dir` (made if absent) on branch `opts.branch` (default main) and, unless `files` is empty,
 * a first commit with them. `opts.config` sets repository config (e.g. uploadpack.allowAnySHA1InWant).
 */
export async function makeGitRepo(
  dir: string, files: Record<string, FileSpec>, opts: { branch?: string; message?: string; config?: Record<string, string> } = {},
): Promise<TestRepo> {
  await mkdir(dir, { recursive: true });
  const git = async (...args: string[]) => (await run('git', args, { cwd: dir, env: gitTestEnv(), maxBuffer: 64 << 20 })).stdout;
  await git('init', '--quiet', `--initial-branch=${opts.branch ?? 'main'}`);
  for (const [k, v] of Object.entries({ 'commit.gpgSign': 'false', 'core.autocrlf': 'false', ...opts.config })) await git('config', k, v);

  const gitlinks = new Map<string, string>();
  const repo: TestRepo = {
    path: dir,
    url: `file://${dir}`,
    git,
    async commit(changes, message, author = TEST_AUTHOR) {
      for (const [rel, spec] of Object.entries(changes)) {
        if (spec !== null && typeof spec === 'object' && 'gitlink' in spec) gitlinks.set(rel, spec.gitlink);
        else { gitlinks.delete(rel); await writeSpec(join(dir, rel), spec); }
      }
      await git('add', '--all');
      for (const [rel, sha] of gitlinks) await git('update-index', '--add', '--cacheinfo', `160000,${sha},${rel}`);
      const date = `${BASE_DATE + ++tick} +0000`;
      await run('git', ['commit', '--quiet', '--allow-empty', '--no-verify', '-m', message], {
        cwd: dir,
        env: gitTestEnv({ GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date }),
      });
      return repo.head();
    },
    async branch(name) { await git('checkout', '--quiet', '-b', name); },
    async checkout(name) { await git('checkout', '--quiet', name); },
    head() {
      return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, env: gitTestEnv(), encoding: 'utf8' }).trim();
    },
  };
  if (Object.keys(files).length > 0) await repo.commit(files, opts.message ?? 'initial commit');
  return repo;
}

async function writeSpec(path: string, spec: Exclude<FileSpec, { gitlink: string }>): Promise<void> {
  await rm(path, { recursive: true, force: true });
  if (spec === null) return;
  await mkdir(dirname(path), { recursive: true });
  if (typeof spec === 'string') return writeFile(path, spec);
  if ('symlink' in spec) return symlink(spec.symlink, path);
  await writeFile(path, spec.content);
  if (spec.mode !== undefined) await chmod(path, spec.mode);
}
