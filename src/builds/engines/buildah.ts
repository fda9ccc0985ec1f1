// The buildah build engine (default, daemonless): `buildah bud` into a per-service storage root that doubles as the
// layer cache, then `buildah push` to the BuildGrid registry.
//
// Layout under workDir (one engine instance per workDir; the serialization of builds is in-process):
//   cache/<cacheKey>/root, runroot   buildah storage of one service (images = the layer cache)
//   cache/<cacheKey>/bic             containers/image blob-info cache (see "Host isolation")
//   cache/<cacheKey>/driver          storage driver the root was made with (a mismatch wipes the cache)
//   cache/<cacheKey>/last-used       touched by every build (pruneCaches uses its mtime)
//   builds/<buildId>-<rand>/         per build, removed afterwards: auth.json (0600), registries.conf,
//                                    containers.conf, storage.conf, policy.json, tmp/ (TMPDIR), home/ (HOME), digest
//
// Host isolation — nothing of the host's container configuration is used or written: generated containers.conf,
// storage.conf, registries.conf and policy.json (CONTAINERS_* variables), private HOME/TMPDIR, BUILDAH_*/STORAGE_*/
// XDG_*/DOCKER_* removed; credentials only in the per-build auth file scoped to the target registry (never argv, never
// sent to other registries). buildah 1.28 ignores some of that (/var/tmp, /var/lib/containers/cache,
// /etc/containers/registries.conf.d), so when root with util-linux it runs in a private mount namespace with private
// directories bound over those paths (buildah-support.ts NS_SCRIPT; usesMountNamespace() tells). RUN steps run in the
// sandbox of sandbox.ts (isolation 'oci', default) or, opted out, buildah's escapable chroot.
//
// Cache housekeeping: every build is tagged `localhost/buildgrid-build:<buildId>` (removed after the push; leftovers
// of a killed process are removed by the next build of the same key) and CACHE_TAG (see there). Changed builds add
// intermediate images; nothing trims them except pruneCache / pruneCaches (whole cache of a service).
//
// Image format: `--format docker` (Docker schema 2 manifest + config). Docker ≥ 20.10 pulls OCI images too, but only
// the Docker format keeps HEALTHCHECK, ONBUILD and SHELL (buildah drops them with a warning in OCI format), and it is
// what the docker engine produces, so images do not depend on the engine.
//
// Pull policy: `--pull=true` (buildah 1.28's "if newer"): a FROM image is re-downloaded only when the registry has a
// different manifest for the tag, so layer-cache hits survive while updated base images are picked up.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { AppError } from '../../core/errors.ts';
import { isDigest, type Digest } from '../../core/digest.ts';
import type { BuildEngine, EngineRequest, EngineResult } from '../types.ts';
import { KeyedLock, removeTree, safeSegment } from './fsutil.ts';
import { isCancelled, runProcess, type ProcessResult, type RunProcessOptions } from './process.ts';
import { buildTagFor, explainBuildError, meaningfulError, nsArgs, onPath, prepareCache, writeConfigs, type StorageDriver } from './buildah-support.ts';

export { buildTagFor, explainBuildError, meaningfulError, type StorageDriver };
import { dockerfileWithLabels } from './labels.ts';
import { DEFAULT_SANDBOX, findRuntime, limitArgs, openBuildNetwork, parseCidrs, sweepStaleNetworks, writeRuntimeShim, type BuildNetworkHandle, type SandboxPolicy } from './sandbox.ts';
import { validateRequest } from './request.ts';


export interface BuildahEngineOptions {
  /** Directory for caches and per-build files (created if missing). Must be on a local filesystem, not on overlayfs when using overlay. */
  workDir: string;
  /** Default: 'overlay' if a probe (a real overlay mount in workDir) works here, else 'vfs'. */
  storageDriver?: StorageDriver;
  /**
   * How RUN steps are isolated. 'oci' (default): the sandbox of sandbox.ts (runc, own PID/IPC/UTS/mount/network
   * namespaces, no_new_privs, cgroup limits). 'chroot': buildah's chroot isolation — RUN shares the host's processes and
   * network and can escape the chroot; only for hosts where runc cannot run and every repository is trusted.
   */
  isolation?: 'oci' | 'chroot';
  /** Network and limits of RUN steps (oci isolation). Default DEFAULT_SANDBOX. */
  sandbox?: Partial<SandboxPolicy>;
  /** buildah binary. Default 'buildah' (from PATH). */
  buildah?: string;
  /** Run buildah in a private mount namespace (see the file comment). Default 'auto' (when root and unshare exists). */
  mountNamespace?: boolean | 'auto';
  /**
   * registries.conf `unqualified-search-registries`: where short names in FROM lines are looked up. Default [] (a
   * short name fails with a clear message instead of reaching for docker.io); ['docker.io'] behaves like Docker.
   */
  unqualifiedSearchRegistries?: string[];
  /** Upstream registry names pulled through BuildGrid's pull-through cache (writeConfigs in buildah-support.ts). Default none. */
  mirrors?: readonly string[];
  /** Kill a build (bud + push) that takes longer than this. Default 2 h. */
  buildTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when a build is cancelled. Default 2 000 ms. */
  killGraceMs?: number;
}

export interface BuildahEngine extends BuildEngine {
  readonly name: 'buildah';
  /** The storage driver builds use (probing it on first call when not configured). */
  storageDriver(): Promise<StorageDriver>;
  /** Whether buildah runs in a private mount namespace (decided by check() / the first build). */
  usesMountNamespace(): Promise<boolean>;
  /** Directory of the layer cache of `cacheKey` (it may not exist yet). */
  cacheDir(cacheKey: string): string;
  /**
   * Deletes the layer cache of one service. Waits for a running build of the same key to finish first; the next
   * build of that key starts from scratch.
   */
  pruneCache(cacheKey: string): Promise<void>;
  /** Deletes every layer cache not used by a build for `unusedForMs` (skips keys with a build running or queued). Returns the keys' directory names removed. */
  pruneCaches(opts: { unusedForMs: number }): Promise<string[]>;
}

/** The local name a build is tagged with before it is pushed. */
export const BUILD_TAG_REPO = 'localhost/buildgrid-build';
/**
 * A second name every build gives its image, moved from build to build. It protects the newest image's parent chain:
 * buildah 1.28's `rmi` also deletes the dangling parents of an image it deletes — i.e. the layer cache of the last
 * stage — but only untags an image that has another name.
 */
export const CACHE_TAG = 'localhost/buildgrid-cache:latest';

/**
 * Creates the buildah engine.
 * Contract of buildAndPush (beyond BuildEngine's): builds of the same cacheKey run one at a time in this process
 * (FIFO), different keys in parallel; every line of buildah's output goes to `req.log` (the registry password
 * redacted); `onPhase('pushing')` is called once the image is built; on success the local tag is removed (the cached
 * intermediate images stay) and the manifest digest written by `buildah push --digestfile` is returned.
 * Failures: AppError INVALID "build failed: <buildah's error line>" (a RUN failing, a bad Dockerfile, a FROM that
 * cannot be pulled), "push failed: …", "build cancelled" (signal; buildah and every RUN process are killed and
 * their containers removed before the promise settles), "build timed out …".
 */
export function createBuildahEngine(opts: BuildahEngineOptions): BuildahEngine {
  const isolation = opts.isolation ?? 'oci';
  if (isolation !== 'oci' && isolation !== 'chroot') throw new AppError('INVALID', `unsupported buildah isolation "${String(opts.isolation)}" (oci or chroot)`);
  const policy: SandboxPolicy = { ...DEFAULT_SANDBOX, ...opts.sandbox };
  parseCidrs(policy.allowedNetworks);
  let runtimeP: Promise<string> | undefined;
  const runtime = (): Promise<string> => (runtimeP ??= findRuntime().catch((e: unknown) => { runtimeP = undefined; throw e; }));
  const workDir = resolve(opts.workDir);
  const buildah = opts.buildah ?? 'buildah';
  const lock = new KeyedLock();
  const activeBuildDirs = new Set<string>();
  /** Caches known to hold no leftovers: this process's last build there succeeded, or cleaned up after itself. */
  const cleanCaches = new Set<string>();
  let driverP: Promise<StorageDriver> | undefined;
  let nsP: Promise<boolean> | undefined;
  let versionP: Promise<string> | undefined;

  const cacheDir = (key: string): string => join(workDir, 'cache', safeSegment(key));

  /** `buildah --version`, memoized; a missing binary is an actionable error. */
  const version = (): Promise<string> => {
    versionP ??= runProcess(buildah, ['--version'], { timeoutMs: 30_000, what: 'buildah --version' })
      .then((r) => {
        if (r.code !== 0) throw new AppError('INVALID', `buildah does not work here (buildah --version: ${r.tail.join(' ').trim()}); install buildah: apt-get install buildah`);
        return r.tail.join(' ').trim();
      })
      .catch((e: unknown) => {
        versionP = undefined;
        if (e instanceof AppError && /command not found/.test(e.message)) {
          throw new AppError('INVALID', `buildah is not installed (${buildah} not found): install buildah: apt-get install buildah`);
        }
        throw e;
      });
    return versionP;
  };

  /** Whether to wrap buildah in `unshare -m` (probed once: the wrapper must actually work). */
  const useNamespace = (): Promise<boolean> => {
    nsP ??= (async () => {
      const mode = opts.mountNamespace ?? 'auto';
      if (mode === false) return false;
      const root = typeof process.getuid === 'function' && process.getuid() === 0;
      const ok = root && (await onPath('unshare')) && (await onPath('mount'));
      if (!ok) {
        if (mode === true) throw new AppError('INVALID', 'buildah mountNamespace requires root and util-linux (unshare, mount)');
        return false;
      }
      const probeDir = join(workDir, 'builds', `ns-probe-${randomBytes(4).toString('hex')}`);
      await mkdir(join(probeDir, 'bic'), { recursive: true });
      await mkdir(join(probeDir, 'tmp'), { recursive: true });
      await mkdir(join(probeDir, 'regd'), { recursive: true });
      try {
        const r = await runProcess('unshare', [...nsArgs(join(probeDir, 'bic'), join(probeDir, 'tmp'), join(probeDir, 'regd')), 'true'], { timeoutMs: 30_000, what: 'unshare' });
        if (r.code !== 0 && mode === true) throw new AppError('INVALID', `cannot create a mount namespace for buildah: ${r.tail.join(' ')}`);
        return r.code === 0;
      } finally {
        await removeTree(probeDir);
      }
    })().catch((e: unknown) => {
      nsP = undefined;
      throw e;
    });
    return nsP;
  };

  /** Storage driver: configured, else overlay if a real overlay mount works in workDir, else vfs. Memoized. */
  const storageDriver = (): Promise<StorageDriver> => {
    if (opts.storageDriver) return Promise.resolve(opts.storageDriver);
    driverP ??= (async () => {
      await version();
      const ns = await useNamespace();
      const probe = join(workDir, 'builds', `driver-probe-${randomBytes(4).toString('hex')}`);
      const env = await writeConfigs(probe, 'overlay', { registry: null, insecure: false, credentials: null, search: [] });
      await mkdir(join(probe, 'bic'), { recursive: true });
      await mkdir(join(probe, 'regd'), { recursive: true });
      const store = ['--root', join(probe, 'root'), '--runroot', join(probe, 'runroot'), '--storage-driver', 'overlay'];
      const run = (args: string[]): Promise<ProcessResult> => {
        const [cmd, argv] = ns
          ? ['unshare', [...nsArgs(join(probe, 'bic'), join(probe, 'tmp'), join(probe, 'regd')), buildah, ...store, ...args]]
          : [buildah, [...store, ...args]];
        return runProcess(cmd, argv, { env, timeoutMs: 60_000, what: `buildah ${args[0]}` });
      };
      try {
        // A container on a fresh (empty) layer and a real mount of it: exactly what a RUN step needs.
        const from = await run(['from', '--name', 'probe', '--signature-policy', join(probe, 'policy.json'), 'scratch']);
        if (from.code !== 0) return 'vfs';
        const m = await run(['mount', 'probe']);
        if (m.code !== 0) return 'vfs';
        await run(['umount', 'probe']);
        await run(['rm', 'probe']);
        return 'overlay';
      } finally {
        await removeTree(probe);
      }
    })().catch((e: unknown) => {
      driverP = undefined;
      throw e;
    });
    return driverP;
  };

  /** Runs buildah against the storage of `cacheDir` (inside the namespace when enabled). */
  const buildahIn = async (
    dirs: { cache: string; build: string },
    args: string[],
    ro: Omit<RunProcessOptions, 'env'> & { env: NodeJS.ProcessEnv },
  ): Promise<ProcessResult> => {
    const driver = await storageDriver();
    const store = ['--root', join(dirs.cache, 'root'), '--runroot', join(dirs.cache, 'runroot'), '--storage-driver', driver];
    if (await useNamespace()) {
      return runProcess('unshare', [...nsArgs(join(dirs.cache, 'bic'), join(dirs.build, 'tmp'), join(dirs.build, 'regd')), buildah, ...store, ...args], ro);
    }
    return runProcess(buildah, [...store, ...args], ro);
  };

  /**
   * Removes what an interrupted build of this cache may have left: working containers and images still tagged
   * `localhost/buildgrid-build:*`. Two buildah calls (≈ 0.5 s); runs after a failed build, and before a build unless
   * this process's previous build of the cache ended clean (so a crashed process's leftovers are always swept).
   */
  const janitor = async (dirs: { cache: string; build: string }, env: NodeJS.ProcessEnv, log?: (l: string) => void): Promise<void> => {
    const quiet = { env, timeoutMs: 120_000, tailLines: 20 };
    const rm = await buildahIn(dirs, ['rm', '--all'], { ...quiet, what: 'buildah rm' });
    if (rm.code !== 0) log?.(`[buildgrid] warning: removing leftover build containers failed: ${rm.tail.join(' ').trim()}`);
    const lines: string[] = [];
    const ls = await buildahIn(dirs, ['images', '--json'], { ...quiet, what: 'buildah images', tailLines: 1, onLine: (l) => lines.push(l) });
    if (ls.code !== 0) return;
    let images: Array<{ names?: string[] | null }> = [];
    try {
      images = JSON.parse(lines.join('\n') || '[]') as typeof images;
    } catch {
      return;
    }
    const stale = images.flatMap((i) => i.names ?? []).filter((n) => n.startsWith(`${BUILD_TAG_REPO}:`));
    if (stale.length > 0) {
      const r = await buildahIn(dirs, ['rmi', ...stale], { ...quiet, what: 'buildah rmi' });
      if (r.code !== 0) log?.(`[buildgrid] warning: removing leftover build images failed: ${r.tail.join(' ').trim()}`);
    }
  };

  const buildAndPush = async (request: EngineRequest): Promise<EngineResult> => {
    const cancelled = (): AppError => new AppError('INVALID', 'build cancelled', { cancelled: true });
    if (request.signal.aborted) throw cancelled();
    const req = await validateRequest(request);
    const cache = cacheDir(req.cacheKey);
    return lock.run(
      safeSegment(req.cacheKey),
      async () => {
        if (req.signal.aborted) throw cancelled();
        const driver = await storageDriver();
        if (await prepareCache(cache, driver)) cleanCaches.add(cache);
        const build = join(workDir, 'builds', `${safeSegment(req.buildId, 60)}-${randomBytes(4).toString('hex')}`);
        activeBuildDirs.add(build);
        const { registry, repository, tag, insecure } = req.target;
        const env = await writeConfigs(build, driver, {
          registry,
          insecure,
          credentials: req.credentials,
          search: opts.unqualifiedSearchRegistries ?? [],
          mirrors: opts.mirrors,
        });
        const dirs = { cache, build };
        const secrets = [req.credentials.password, Buffer.from(`${req.credentials.username}:${req.credentials.password}`).toString('base64')];
        const deadline = Date.now() + (opts.buildTimeoutMs ?? 2 * 60 * 60 * 1000);
        const common = (what: string): Omit<RunProcessOptions, 'env'> & { env: NodeJS.ProcessEnv } => ({
          env,
          signal: req.signal,
          timeoutMs: Math.max(1_000, deadline - Date.now()),
          killGraceMs: opts.killGraceMs ?? 2_000,
          secrets,
          onLine: (l) => req.log(l),
          what,
        });
        const authArgs = ['--authfile', join(build, 'auth.json'), '--signature-policy', join(build, 'policy.json')];
        // Insecure targets are marked in registries.conf (scoped to that host); an explicit --tls-verify would override it.
        const tlsArgs = insecure ? [] : ['--tls-verify=true'];
        const localTag = `${BUILD_TAG_REPO}:${buildTagFor(req.buildId)}`;
        let ok = false;
        let net: BuildNetworkHandle | undefined;
        try {
          if (!cleanCaches.delete(cache)) await janitor(dirs, env, req.log);
          const labelled = await dockerfileWithLabels(req.dockerfile, req.labels, join(build, 'dockerfile'));
          const sandboxArgs = isolation === 'chroot'
            ? ['--isolation', 'chroot']
            : ['--isolation', 'oci', '--runtime', await writeRuntimeShim(build, await runtime(), policy), ...(net = await openBuildNetwork(policy)).args, ...limitArgs(policy)];
          const budArgs = [
            'bud',
            ...sandboxArgs,
            '--layers',
            '--format', 'docker',
            '--pull=true',
            '--rm', '--force-rm',
            '--retry', '2', '--retry-delay', '1s',
            ...authArgs,
            ...tlsArgs,
            '-f', labelled ?? req.dockerfile,
            ...Object.entries(req.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
            ...(labelled ? [] : Object.entries(req.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`])),
            '-t', localTag,
            '-t', CACHE_TAG,
            req.contextDir,
          ];
          const bud = await buildahIn(dirs, budArgs, common('build'));
          if (bud.code !== 0) throw new AppError('INVALID', `build failed: ${explainBuildError(meaningfulError(bud.tail), registry)}`, { tail: bud.tail });

          req.onPhase('pushing');
          const digestFile = join(build, 'digest');
          const dest = `docker://${registry}/${repository}:${tag}`;
          req.log(`[buildgrid] pushing ${registry}/${repository}:${tag}`);
          const push = await buildahIn(dirs, ['push', ...authArgs, ...tlsArgs, '--retry', '2', '--retry-delay', '1s', '--digestfile', digestFile, localTag, dest], common('push'));
          if (push.code !== 0) throw new AppError('INVALID', `push failed: ${meaningfulError(push.tail)}`, { tail: push.tail });
          const digest = (await readFile(digestFile, 'utf8').catch(() => '')).trim();
          if (!isDigest(digest)) throw new AppError('INVALID', `push failed: buildah wrote no valid manifest digest (${JSON.stringify(digest.slice(0, 80))})`);
          req.log(`[buildgrid] pushed ${registry}/${repository}@${digest}`);

          // Drop only the local name (the image keeps CACHE_TAG): the cached intermediate images stay for the next build.
          const rmi = await buildahIn(dirs, ['rmi', localTag], { env, timeoutMs: 120_000, what: 'buildah rmi' });
          if (rmi.code !== 0) req.log(`[buildgrid] warning: could not remove ${localTag}: ${rmi.tail.join(' ').trim()}`);
          else cleanCaches.add(cache);
          ok = true;
          return { manifestDigest: digest as Digest };
        } catch (e) {
          if (isCancelled(e)) throw cancelled();
          if (e instanceof AppError && (e.detail as { timedOut?: boolean } | undefined)?.timedOut) {
            throw new AppError('INVALID', `build timed out after ${Math.round((opts.buildTimeoutMs ?? 7_200_000) / 60_000)} min`, { timedOut: true });
          }
          throw e;
        } finally {
          await net?.close();
          if (!ok) await janitor(dirs, env).then(() => cleanCaches.add(cache), () => undefined);
          await removeTree(build).catch(() => undefined);
          activeBuildDirs.delete(build);
        }
      },
      { signal: req.signal, onAbort: cancelled },
    );
  };

  return {
    name: 'buildah',

    async check(): Promise<void> {
      await version();
      await mkdir(join(workDir, 'builds'), { recursive: true, mode: 0o700 }).catch((e: Error) => {
        throw new AppError('INVALID', `buildah work directory ${workDir} is not usable: ${e.message}`);
      });
      // Leftovers of a crashed process (may hold job credentials): nothing else uses builds/ (one engine per workDir).
      for (const ent of await readdir(join(workDir, 'builds')).catch(() => [] as string[])) {
        const p = join(workDir, 'builds', ent);
        if (!activeBuildDirs.has(p) && !ent.startsWith('ns-probe-') && !ent.startsWith('driver-probe-')) await removeTree(p).catch(() => undefined);
      }
      await useNamespace();
      await storageDriver();
      if (isolation === 'oci') {
        await runtime();
        if (policy.network === 'isolated') await sweepStaleNetworks();
      }
    },

    buildAndPush,
    storageDriver,
    usesMountNamespace: useNamespace,
    cacheDir,

    pruneCache(cacheKey: string): Promise<void> {
      return lock.run(safeSegment(cacheKey), () => removeTree(cacheDir(cacheKey)));
    },

    async pruneCaches({ unusedForMs }: { unusedForMs: number }): Promise<string[]> {
      const root = join(workDir, 'cache');
      const removed: string[] = [];
      for (const ent of await readdir(root).catch(() => [] as string[])) {
        const dir = join(root, ent);
        const used = await stat(join(dir, 'last-used')).then((s) => s.mtimeMs).catch(() => 0);
        if (Date.now() - used < unusedForMs || lock.busy(ent)) continue;
        await lock.run(ent, () => removeTree(dir));
        removed.push(ent);
      }
      return removed;
    },
  };
}
