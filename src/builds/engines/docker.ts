// The Docker Engine build engine: `docker build` (classic builder) + `docker push` through the docker CLI against a
// configured daemon (DOCKER_HOST). The layer cache is the daemon's own image store.
//
// Why the classic builder (DOCKER_BUILDKIT=0): Debian's docker.io has no buildx plugin, and newer CLIs refuse BuildKit
// without it; the classic builder works with every daemon ≥ 20.10 and every CLI version (newer CLIs print a
// deprecation notice, which lands in the log). RUN steps get the configured network: `none`, or `host` for daemons
// started without a bridge (as here); the isolated network of the buildah engine is not available (docs/security.md).
// RUN containers are the daemon's: their own PID/IPC/UTS/mount namespaces, the daemon's default capabilities and
// seccomp profile; memory and CPU limits through `docker build --memory/--cpu-quota`; no pids limit (the classic
// builder has no flag for it: set the daemon's default-pids-limit… or use buildah).
//
// Credentials: a private DOCKER_CONFIG directory per build whose config.json holds an `auths` entry for the target
// registry only (what `docker login` would write, without a round trip and without any credential helper). The CLI
// sends it to the daemon for FROM pulls from the target registry and for the push. It is deleted after the build;
// ~/.docker is never used.
//
// Insecure (plain HTTP) registries: the daemon decides, not the client — registries on 127.0.0.0/8 are plain HTTP
// automatically; any other insecure registry must be listed in the daemon's `--insecure-registry`.

import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../core/errors.ts';
import { isDigest, type Digest } from '../../core/digest.ts';
import type { BuildEngine, EngineRequest, EngineResult } from '../types.ts';
import { KeyedLock, removeTree, safeSegment } from './fsutil.ts';
import { childEnv, isCancelled, runProcess, type RunProcessOptions } from './process.ts';
import { validateRequest } from './request.ts';

export interface DockerEngineOptions {
  /** The daemon, as DOCKER_HOST (unix:///var/run/docker.sock, tcp://host:2375, …). */
  host: string;
  /** docker CLI binary. Default 'docker' from PATH. */
  client?: string;
  /** `docker build --network` of RUN steps: 'none', 'host' (default) or a docker network's name. */
  network?: string;
  /** Memory limit of each RUN container (swap included), bytes; null/undefined = none. */
  memoryBytes?: number | null;
  /** CPU limit of each RUN container, cores; null/undefined = none. */
  cpus?: number | null;
  /** Parent directory of the per-build DOCKER_CONFIG dirs. Default os.tmpdir(). */
  workDir?: string;
  /** Kill a build (build + push) that takes longer than this. Default 2 h. */
  buildTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when a build is cancelled. Default 2 000 ms. */
  killGraceMs?: number;
}

/**
 * Creates the Docker Engine build engine.
 * Contract of buildAndPush (beyond BuildEngine's): builds of the same cacheKey run one at a time in this process;
 * the image is built as `<registry>/<repository>:<tag>` with `--pull` (base images refreshed when the registry has a
 * newer manifest), pushed, its manifest digest read from the push output ("digest: sha256:… size: …"), then the
 * local tag removed with `docker rmi --no-prune` (the intermediate images = the layer cache stay).
 * Cancel: the CLI is killed (the daemon then aborts the classic build and removes its RUN container itself); as a
 * best effort the intermediate containers named in the output ("Running in <id>") are also `docker rm -f`-ed, and a
 * tag already created is removed. Failures: AppError INVALID "build failed: <daemon's error>", "push failed: …",
 * "build cancelled", "build timed out …".
 */
export function createDockerEngine(opts: DockerEngineOptions): BuildEngine {
  const client = opts.client ?? 'docker';
  const lock = new KeyedLock();
  const baseEnv = (configDir?: string): NodeJS.ProcessEnv => {
    const drop: Record<string, undefined> = {};
    for (const k of Object.keys(process.env)) if (k.startsWith('DOCKER_') || k.startsWith('BUILDX_')) drop[k] = undefined;
    return childEnv({
      ...drop,
      DOCKER_HOST: opts.host,
      DOCKER_BUILDKIT: '0',
      DOCKER_CLI_HINTS: 'false',
      ...(configDir ? { DOCKER_CONFIG: configDir } : {}),
    });
  };

  const docker = (args: string[], o: RunProcessOptions & { env: NodeJS.ProcessEnv }) => runProcess(client, args, o);

  return {
    name: 'docker',

    async check(): Promise<void> {
      const cfg = await mkdtemp(join(tmpdir(), 'bg-docker-check-'));
      try {
        const r = await docker(['version', '--format', '{{.Server.Version}}'], { env: baseEnv(cfg), timeoutMs: 30_000, what: 'docker version' }).catch((e: unknown) => {
          if (e instanceof AppError && /command not found/.test(e.message)) {
            throw new AppError('INVALID', `the docker CLI is not installed (${client} not found): install it (apt-get install docker.io) or choose the buildah engine`);
          }
          throw e;
        });
        const version = r.tail.join(' ').trim();
        if (r.code !== 0 || !version) {
          throw new AppError('INVALID', `cannot reach the Docker Engine at ${opts.host}: ${r.tail.filter(Boolean).slice(-2).join(' ').trim()} — start dockerd or fix the docker host setting`);
        }
      } finally {
        await removeTree(cfg);
      }
    },

    async buildAndPush(request: EngineRequest): Promise<EngineResult> {
      const cancelled = (): AppError => new AppError('INVALID', 'build cancelled', { cancelled: true });
      if (request.signal.aborted) throw cancelled();
      const req = await validateRequest(request);
      return lock.run(
        safeSegment(req.cacheKey),
        async () => {
          if (req.signal.aborted) throw cancelled();
          const { registry, repository, tag } = req.target;
          const ref = `${registry}/${repository}:${tag}`;
          const parent = opts.workDir ?? tmpdir();
          await mkdir(parent, { recursive: true });
          const configDir = await mkdtemp(join(parent, `bg-docker-${safeSegment(req.buildId, 40)}-`));
          await chmod(configDir, 0o700);
          const auth = Buffer.from(`${req.credentials.username}:${req.credentials.password}`).toString('base64');
          await writeFile(join(configDir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }) + '\n', { mode: 0o600 });
          const env = baseEnv(configDir);
          const deadline = Date.now() + (opts.buildTimeoutMs ?? 2 * 60 * 60 * 1000);
          const containers = new Set<string>();
          const common = (what: string, onLine?: (l: string) => void): RunProcessOptions & { env: NodeJS.ProcessEnv } => ({
            env,
            signal: req.signal,
            timeoutMs: Math.max(1_000, deadline - Date.now()),
            killGraceMs: opts.killGraceMs ?? 2_000,
            secrets: [req.credentials.password, auth],
            onLine: (l) => {
              onLine?.(l);
              req.log(l);
            },
            what,
          });
          let tagged = false;
          let ok = false;
          try {
            const build = await docker(
              [
                'build',
                '--network', opts.network ?? 'host',
                ...(opts.memoryBytes ? ['--memory', String(opts.memoryBytes), '--memory-swap', String(opts.memoryBytes)] : []),
                ...(opts.cpus ? ['--cpu-period', '100000', '--cpu-quota', String(Math.max(1000, Math.round(opts.cpus * 100_000)))] : []),
                '--pull',
                '--rm', '--force-rm',
                '-f', req.dockerfile,
                ...Object.entries(req.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
                ...Object.entries(req.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
                '-t', ref,
                req.contextDir,
              ],
              common('build', (l) => {
                const m = /^\s*---> Running in ([0-9a-f]{12,64})\s*$/.exec(l);
                if (m) containers.add(m[1]!);
                if (/^Successfully tagged /.test(l)) tagged = true;
              }),
            );
            if (build.code !== 0) throw new AppError('INVALID', `build failed: ${meaningfulDockerError(build.tail)}`, { tail: build.tail });
            tagged = true;

            req.onPhase('pushing');
            const digests: string[] = [];
            const push = await docker(['push', ref], common('push', (l) => {
              const m = /digest: (sha256:[a-f0-9]{64}) size: \d+/.exec(l);
              if (m) digests.push(m[1]!);
            }));
            if (push.code !== 0) throw new AppError('INVALID', `push failed: ${meaningfulDockerError(push.tail)}`, { tail: push.tail });
            const digest = digests[digests.length - 1];
            if (!digest || !isDigest(digest)) throw new AppError('INVALID', 'push failed: docker push reported no manifest digest');
            ok = true;
            return { manifestDigest: digest as Digest };
          } catch (e) {
            if (isCancelled(e)) {
              // The daemon normally removes the RUN container when the CLI goes away; make sure of it.
              if (containers.size > 0) {
                await docker(['rm', '-f', ...containers], { env, timeoutMs: 30_000, what: 'docker rm' }).catch(() => undefined);
              }
              throw cancelled();
            }
            if (e instanceof AppError && (e.detail as { timedOut?: boolean } | undefined)?.timedOut) {
              throw new AppError('INVALID', `build timed out after ${Math.round((opts.buildTimeoutMs ?? 7_200_000) / 60_000)} min`, { timedOut: true });
            }
            throw e;
          } finally {
            if (tagged) {
              // Only the tag goes: --no-prune keeps the untagged parents, i.e. the cached intermediate images.
              const rmi = await docker(['rmi', '--no-prune', ref], { env, timeoutMs: 120_000, what: 'docker rmi' }).catch(() => undefined);
              if (ok && rmi && rmi.code !== 0) req.log(`[buildgrid] warning: could not remove ${ref}: ${rmi.tail.join(' ').trim()}`);
            }
            await removeTree(configDir).catch(() => undefined);
          }
        },
        { signal: req.signal, onAbort: cancelled },
      );
    },
  };
}

/**
 * The line that says why docker failed: "Error response from daemon: …" (prefix removed), the classic builder's
 * "The command '…' returned a non-zero code: N", an "error …"/"unauthorized …" push line, else the last non-empty line.
 */
export function meaningfulDockerError(tail: readonly string[]): string {
  const lines = tail.map((l) => l.trim()).filter(Boolean);
  const patterns = [/^Error response from daemon:\s*(.*)$/, /^(The command .* returned a non-zero code: \d+)$/, /^(?:ERROR|Error):?\s*(.*)$/, /^((?:unauthorized|denied|manifest unknown|name unknown).*)$/i];
  for (const re of patterns) {
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = re.exec(lines[i]!);
      if (m) return m[1]!;
    }
  }
  return lines[lines.length - 1] ?? 'docker exited without output';
}
