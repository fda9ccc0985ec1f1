import { AppError } from '../../core/errors.ts';
import { createNetGuard, type NetGuard } from '../../core/netguard.ts';
import type { CommitInfo, GitFetcher, GitSource } from '../types.ts';
import { prepareAuth } from './auth.ts';
import { toAppError, failureOf } from './errors.ts';
import { GitError, runGit, type RunGitOptions } from './exec.ts';
import { withLock } from './lock.ts';
import { hasCommit, mirrorPaths, openMirror, prepareCache, type CacheLayout } from './mirror.ts';
import { commitInfo, exportTree, prepareDest } from './tree.ts';
import { pinDestination, type PinnedDestination } from './pin.ts';
import { parseGitUrl } from './urls.ts';

/**
 * The GitFetcher over system git with a cached bare mirror per repository (layout in mirror.ts).
 *
 * checkout: under the mirror's lock, fetch exactly the wanted commit (`git fetch <url> +<sha>:refs/buildgrid/<sha>`;
 * git negotiates with everything already in the mirror, so only missing objects travel). Servers that refuse a
 * fetch by hash (protocol v0 without allowReachableSHA1InWant, dumb HTTP) get a fetch of all branches and tags
 * instead. A commit already in the mirror is not fetched again, but the host is still asked (`ls-remote HEAD`) so a
 * source whose credentials no longer work — or never did — cannot build from what another source fetched. The lock
 * is released before the files are written out (tree.ts): reading a repository while another fetch adds to it is safe.
 */

export interface GitFetcherOptions {
  /** Directory for mirrors, known_hosts and temporary files; created if absent. */
  cacheDir: string;
  /** Accept file:// URLs (BUILDGRID_ALLOW_LOCAL_GIT). */
  allowLocal: boolean;
  /** Which git hosts may be reached (allowPrivateNetworks); default: public addresses only. */
  guard?: NetGuard;
  /** The ssh program (default 'ssh'); tests substitute a fake. */
  sshProgram?: string;
  /** Limit of one fetch or checkout step (default 30 minutes). */
  fetchTimeoutMs?: number;
  /** Limit of one ls-remote (default 2 minutes). */
  lsRemoteTimeoutMs?: number;
}

/** Creates the fetcher. Nothing touches the disk until the first call. */
export function createGitFetcher(options: GitFetcherOptions): GitFetcher {
  let cache: Promise<CacheLayout> | undefined;
  const layout = () => (cache ??= prepareCache(options.cacheDir).catch((e) => { cache = undefined; throw e; }));
  const fetchTimeoutMs = options.fetchTimeoutMs ?? 30 * 60_000;
  const lsRemoteTimeoutMs = options.lsRemoteTimeoutMs ?? 2 * 60_000;
  const guard = options.guard ?? createNetGuard({ allow: false });

  /** Everything one call needs: parsed URL, cache layout, credentials and the matching runGit options. */
  async function session(src: GitSource, signal: AbortSignal | undefined, log?: (line: string) => void) {
    const url = parseGitUrl(src.url, { allowLocal: options.allowLocal });
    const target = await pinDestination(url, guard);
    const l = await layout();
    const auth = await prepareAuth(src, url.kind, { tmpDir: l.tmp, knownHosts: l.knownHosts, sshProgram: options.sshProgram ?? 'ssh', hostKeyAlias: target.hostKeyAlias });
    const git = (timeoutMs: number, withLog = false): RunGitOptions => ({
      home: l.home, allowLocal: options.allowLocal, signal, timeoutMs, env: auth.env, config: target.config, secretConfig: auth.secretConfig,
      secrets: auth.secrets, onStderrLine: withLog ? log : undefined,
    });
    const fail = (err: unknown, action: string) => toAppError(err, { url: url.url, action, refusedHint: auth.refusedHint });
    return { url, target, layout: l, auth, git, fail };
  }

  async function lsRemote(s: { target: PinnedDestination; git: (t: number) => RunGitOptions }, patterns: string[]): Promise<Array<[string, string]>> {
    const { stdout } = await runGit(['ls-remote', '--', s.target.gitUrl, ...patterns], s.git(lsRemoteTimeoutMs));
    return stdout.split('\n').filter(Boolean).map((line) => line.split('\t') as [string, string]);
  }

  return {
    async resolveBranch(src, branch, opts) {
      const name = checkBranch(branch);
      const s = await session(src, opts.signal);
      try {
        const head = (await lsRemote(s, [`refs/heads/${name}`])).find(([, ref]) => ref === `refs/heads/${name}`);
        if (head) return head[0];
        const names = (await lsRemote(s, ['refs/heads/*'])).map(([, ref]) => ref.slice('refs/heads/'.length));
        throw new AppError('NOT_FOUND', `branch "${name}" does not exist in ${s.url.url}; ${describeBranches(names)}`);
      } catch (err) {
        throw s.fail(err, 'list the branches of');
      } finally {
        await s.auth.cleanup();
      }
    },

    async checkout(src, commit, dest, opts): Promise<CommitInfo> {
      const sha = checkCommit(commit);
      await prepareDest(dest); // before any network work: a wrong destination should fail fast
      const s = await session(src, opts.signal, opts.log);
      const { gitDir, lock } = mirrorPaths(s.layout, src.cacheKey);
      const log = (line: string) => { try { opts.log?.(line); } catch { /* a bad listener must not fail the build */ } };
      try {
        await withLock(lock, opts.signal, async () => {
          if (await openMirror(gitDir, s.git(fetchTimeoutMs))) log(`created the git cache for ${s.url.url}`);
          if (await hasCommit(gitDir, sha, s.git(fetchTimeoutMs))) {
            log(`commit ${sha} is already in the git cache; checking access to ${s.url.url}`);
            await lsRemote(s, ['HEAD']);
          } else {
            await fetchCommit(gitDir, sha, s, log);
          }
        });
        await s.auth.cleanup(); // the network part is over: the key file goes now (cleanup is idempotent)
        log(`writing the files of ${sha}`);
        await exportTree(gitDir, sha, dest, s.layout.tmp, s.git(fetchTimeoutMs), log);
        return await commitInfo(gitDir, sha, s.git(fetchTimeoutMs));
      } catch (err) {
        throw s.fail(err, 'fetch');
      } finally {
        await s.auth.cleanup();
      }
    },
  };

  async function fetchCommit(gitDir: string, sha: string, s: Awaited<ReturnType<typeof session>>, log: (l: string) => void): Promise<void> {
    log(`fetching ${sha} from ${s.url.url}`);
    // fetch.unpackLimit=1: keep what arrives as a pack (index-pack, as clone does). Below git's default limit of 100
    // objects a fetch explodes the pack into loose objects, zlib-compressing every blob again: 0.3 s more for a
    // 12 MiB asset, and a mirror of loose objects. git's auto-maintenance after each fetch repacks many small packs.
    const fetch = (refspecs: string[], extra: string[] = []) =>
      runGit(['-c', 'fetch.unpackLimit=1', '--git-dir', gitDir, 'fetch', '--progress', '--no-tags', '--no-write-fetch-head', ...extra, '--', s.target.gitUrl, ...refspecs], s.git(fetchTimeoutMs, true));
    try {
      await fetch([`+${sha}:refs/buildgrid/${sha}`]);
      return;
    } catch (err) {
      if (!(err instanceof GitError) || err.reason !== 'exit' || failureOf(err) !== 'other') throw err;
      log('the git host would not send the commit by its hash; fetching all branches and tags instead');
    }
    await fetch(['+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'], ['--prune']);
    if (!(await hasCommit(gitDir, sha, s.git(fetchTimeoutMs)))) {
      throw new AppError('NOT_FOUND', `commit ${sha} is not in ${s.url.url}: it was never pushed, or a force-push removed it from every branch and tag`);
    }
    await runGit(['--git-dir', gitDir, 'update-ref', `refs/buildgrid/${sha}`, sha], s.git(fetchTimeoutMs));
  }
}

/** Lower-cases and checks a full commit hash (SHA-1 or SHA-256). Throws AppError INVALID otherwise. */
function checkCommit(commit: string): string {
  const sha = String(commit).toLowerCase();
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) throw new AppError('INVALID', `"${commit}" is not a full commit hash (40 hexadecimal characters)`);
  return sha;
}

/** Checks a branch name with git's ref-name rules (check-ref-format); accepts and strips a refs/heads/ prefix. */
function checkBranch(branch: string): string {
  const name = String(branch).replace(/^refs\/heads\//, '');
  const ok = name.length > 0 && name.length <= 255 && !/[\u0000-\u0020\u007f~^:?*[\\]/.test(name) && !name.includes('..')
    && !name.includes('@{') && !name.includes('//') && name !== '@' && !/^[-/]/.test(name) && !/[/.]$/.test(name)
    && name.split('/').every((c) => !c.startsWith('.') && !c.endsWith('.lock'));
  if (!ok) throw new AppError('INVALID', `"${branch}" is not a valid git branch name`);
  return name;
}

function describeBranches(names: string[]): string {
  if (names.length === 0) return 'the repository has no branches yet (push one first)';
  const first = ['main', 'master', 'develop'].filter((n) => names.includes(n));
  const shown = [...first, ...names.filter((n) => !first.includes(n)).sort()].slice(0, 10);
  const more = names.length > shown.length ? ` and ${names.length - shown.length} more` : '';
  return `existing branches: ${shown.join(', ')}${more}`;
}
