// Starts a private Docker Engine (Debian's dockerd 20.10 + its own containerd) for real-client tests:
//   dockerd --storage-driver=vfs --iptables=false --bridge=none --data-root … --exec-root … -H unix://…
// in a fresh /tmp dir, with a private DOCKER_CONFIG for the client (so `docker login` never touches ~/.docker).
// Facts this relies on (checked here): containers need `--network host` (no bridge); registries on 127.0.0.0/8 (and
// `localhost`) are plain HTTP for docker automatically; vfs copies every layer per container (slow for big images).

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  killMatching,
  pidsMatching,
  removeTree,
  run,
  startDaemon,
  tempDir,
  waitFor,
  which,
  type Daemon,
  type RunOptions,
  type RunResult,
} from './tools.ts';

export interface DockerdOptions {
  /** ms to wait for `docker version` to answer. Default 60 000. */
  startTimeoutMs?: number;
  /**
   * docker CLI to use. Default: $BUILDGRID_DOCKER_CLIENT, else /usr/bin/docker (Debian's 20.10 client, same version as
   * the daemon), else `docker` in PATH (here /usr/local/bin/docker 28.x, which also works: it downgrades to API 1.41).
   */
  client?: string;
  /** Extra dockerd flags (e.g. ['--insecure-registry', 'myhost:5000'] for non-loopback plain-HTTP registries). */
  extraArgs?: string[];
}

export interface DockerRunOptions extends Omit<RunOptions, 'env'> {
  /** Extra env for the client; DOCKER_HOST / DOCKER_CONFIG are always this daemon's. */
  env?: Record<string, string | undefined>;
}

export interface Dockerd {
  /** unix:///tmp/bgdk-XXXXXX/d.sock — pass as DOCKER_HOST or `-H`. */
  host: string;
  socketPath: string;
  /** dockerd's pid (containerd is its child). */
  pid: number;
  /** The temp dir holding data-root, exec-root, client config and logs; removed by stop(). */
  rootDir: string;
  /** Client config dir (DOCKER_CONFIG); `docker login` writes config.json here. */
  configDir: string;
  /** Env vars that point a docker CLI at this daemon (DOCKER_HOST, DOCKER_CONFIG, …). */
  env: Record<string, string | undefined>;
  /** Absolute path of the docker CLI used by run(). */
  client: string;
  /** Server version reported by `docker version`. */
  serverVersion: string;
  /**
   * Runs the docker CLI against this daemon: `run(['pull', ref])`. Never rejects for a non-zero exit (check `code`).
   * Default timeout 300 000 ms.
   */
  run(args: string[], opts?: DockerRunOptions): Promise<RunResult>;
  /** Last bytes of the daemon log (dockerd + containerd). */
  logTail(bytes?: number): Promise<string>;
  /**
   * Force-removes all containers, stops dockerd (SIGTERM, then SIGKILL), kills any leftover containerd / shim
   * process that refers to rootDir, unmounts whatever is mounted below rootDir and deletes it. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Why dockerd cannot be used here, or null if the binaries and privileges are present (does not start it).
 * Setting BUILDGRID_NO_DOCKERD=1 makes it report unavailable (to exercise / speed up the skip path).
 */
export function dockerdPrerequisitesMissing(): string | null {
  if (process.env.BUILDGRID_NO_DOCKERD === '1') return 'disabled by BUILDGRID_NO_DOCKERD=1';
  const missing = ['dockerd', 'containerd', 'runc', 'containerd-shim-runc-v2'].filter((b) => which(b) === null);
  if (missing.length) return `missing binaries: ${missing.join(', ')} (Debian package docker.io)`;
  if (!pickClient()) return 'no docker CLI found';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'dockerd needs root';
  return null;
}

/** Cheap static check (binaries + root), no daemon started: `dockerdPrerequisitesMissing() === null`. */
export function dockerdAvailable(): boolean {
  return dockerdPrerequisitesMissing() === null;
}

/** The docker CLI startDockerd would use by default, or null. */
export function pickClient(preferred?: string): string | null {
  const env = process.env.BUILDGRID_DOCKER_CLIENT;
  for (const c of [preferred, env, '/usr/bin/docker', 'docker']) {
    if (!c) continue;
    const p = which(c);
    if (p) return p;
  }
  return null;
}

/**
 * Like startDockerd, but never rejects: `{ ok: false, reason }` when dockerd cannot run here (missing binaries, not
 * root, or the daemon failed to come up — reason then includes its log). Suites use it to skip ONLY their docker part,
 * loudly.
 */
export async function tryStartDockerd(
  opts: DockerdOptions = {},
): Promise<{ ok: true; dockerd: Dockerd } | { ok: false; reason: string }> {
  const missing = dockerdPrerequisitesMissing();
  if (missing) return { ok: false, reason: missing };
  try {
    return { ok: true, dockerd: await startDockerd(opts) };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Starts a private dockerd and waits until `docker version` answers.
 * Contract: the caller must call stop() (also on failure paths: use try/finally); stop() leaves no process, mount or
 * file behind. Rejects with the daemon log if it does not come up within startTimeoutMs (and cleans up itself then).
 * Startup takes ~1–2 s here. Several daemons can run side by side (each has its own dirs and containerd).
 */
export async function startDockerd(opts: DockerdOptions = {}): Promise<Dockerd> {
  const dockerdBin = which('dockerd');
  if (!dockerdBin) throw new Error('dockerd not installed (Debian package docker.io)');
  const client = pickClient(opts.client);
  if (!client) throw new Error('no docker CLI found');
  // Short base path: the API socket and containerd's sockets live below it and must stay < 108 bytes.
  const tmp = await tempDir('bgdk-');
  const rootDir = tmp.path;
  const dataRoot = join(rootDir, 'data');
  const execRoot = join(rootDir, 'exec');
  const configDir = join(rootDir, 'cfg');
  const socketPath = join(rootDir, 'd.sock');
  const logFile = join(rootDir, 'dockerd.log');
  const daemonJson = join(rootDir, 'daemon.json');
  await mkdir(configDir);
  await writeFile(join(configDir, 'config.json'), '{}\n');
  // An explicit, empty daemon.json: never pick up /etc/docker/daemon.json from the host.
  await writeFile(daemonJson, '{}\n');
  const host = `unix://${socketPath}`;
  const env: Record<string, string | undefined> = {
    DOCKER_HOST: host,
    DOCKER_CONFIG: configDir,
    DOCKER_CONTEXT: undefined,
    DOCKER_TLS_VERIFY: undefined,
    DOCKER_CERT_PATH: undefined,
    DOCKER_CLI_HINTS: 'false',
    DOCKER_CLI_EXPERIMENTAL: undefined,
  };

  let daemon: Daemon | undefined;
  const cleanup = async (): Promise<void> => {
    await daemon?.stop(10_000);
    // containerd-shim-runc-v2 daemonizes (new session), so it is not in dockerd's process group: find it by path.
    for (let i = 0; i < 20 && pidsMatching(rootDir).length > 0; i++) {
      killMatching(rootDir);
      await sleep(100);
    }
    await removeTree(rootDir);
  };

  try {
    daemon = await startDaemon(
      dockerdBin,
      [
        '--config-file', daemonJson,
        '--storage-driver=vfs',
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
        '--bridge=none',
        '--userland-proxy=false',
        '--shutdown-timeout=2',
        '--data-root', dataRoot,
        '--exec-root', execRoot,
        '--pidfile', join(rootDir, 'dockerd.pid'),
        '-H', host,
        ...(opts.extraArgs ?? []),
      ],
      { logFile, env: { DOCKER_HOST: undefined, DOCKER_CONFIG: undefined } },
    );
    const d = daemon;
    let serverVersion = '';
    await waitFor(
      async () => {
        if (!d.running()) throw new Error('dockerd exited');
        const r = await run(client, ['version', '--format', '{{.Server.Version}}'], { env, timeoutMs: 10_000 });
        if (r.code === 0 && r.stdout.trim()) serverVersion = r.stdout.trim();
        return serverVersion !== '';
      },
      {
        timeoutMs: opts.startTimeoutMs ?? 60_000,
        intervalMs: 200,
        what: `dockerd on ${host}`,
        describe: async () => `--- dockerd log (${logFile}) ---\n${await d.logTail(6000)}`,
      },
    );
    let stopping: Promise<void> | undefined;
    const dockerd: Dockerd = {
      host,
      socketPath,
      pid: d.pid,
      rootDir,
      configDir,
      env,
      client,
      serverVersion,
      run: (args, o = {}) => run(client, args, { timeoutMs: 300_000, ...o, env: { ...o.env, ...env } }),
      logTail: (b) => d.logTail(b),
      stop: () => {
        stopping ??= (async () => {
          if (d.running()) {
            // Containers whose PID 1 is `sh` ignore SIGTERM; remove them with SIGKILL rather than wait on shutdown.
            const ps = await run(client, ['ps', '-aq'], { env, timeoutMs: 15_000 }).catch(() => undefined);
            const ids = ps?.code === 0 ? ps.stdout.split('\n').filter(Boolean) : [];
            if (ids.length) await run(client, ['rm', '-f', ...ids], { env, timeoutMs: 30_000 }).catch(() => undefined);
          }
          await cleanup();
        })();
        return stopping;
      },
    };
    return dockerd;
  } catch (e) {
    const log = daemon ? await daemon.logTail(6000) : '';
    await cleanup().catch(() => undefined);
    if (e instanceof Error && log && !e.message.includes(log.slice(-200))) e.message += `\n--- dockerd log ---\n${log}`;
    throw e;
  }
}
