import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomId } from '../../core/ids.ts';
import { createNetGuard, type PrivateNetworks } from '../../core/netguard.ts';
import { createGitFetcher } from '../git/fetcher.ts';
import type { BuildEngine, GitFetcher } from '../types.ts';
import { createWorkerLoops, type WorkerLoops } from '../worker-loop.ts';
import { createWorkerClient } from './client.ts';
import { createRemoteBackend } from './backend.ts';

/**
 * What the server tells its workers (GET /api/v1/worker/config). `allowPrivateNetworks` is the server's setting, so
 * the operator decides in one place which git hosts builds may reach (absent from older servers: nothing private).
 */
export interface WorkerSettings { registry: { host: string; insecure: boolean }; heartbeatMs: number; buildTimeoutMs: number; allowPrivateNetworks?: PrivateNetworks }

/** The git fetcher of a worker, guarded by the server's allowPrivateNetworks (pass it as startRemoteWorker's `git`). */
export function workerGitFetcher(opts: { cacheDir: string; allowLocal: boolean }): (settings: WorkerSettings) => GitFetcher {
  return (settings) => createGitFetcher({ ...opts, guard: createNetGuard({ allow: settings.allowPrivateNetworks ?? false }) });
}

/** A running `buildgrid worker`. */
export interface RemoteWorker {
  id: string;
  settings: WorkerSettings;
  loops: WorkerLoops;
  /** Stops claiming; with `abandon` running builds are left to be reclaimed, else they finish first. */
  stop(opts?: { abandon?: boolean }): Promise<void>;
}

/**
 * Connects to a BuildGrid server (one node or the cluster's address) with a worker token, adopts its settings, and
 * runs `concurrency` claim loops: git and the engine run here, the log and state go to the server, the image goes
 * to the registry with the build's job token. Throws AppError UNAUTHORIZED for a bad token, INTERNAL when the
 * server cannot be reached.
 */
export async function startRemoteWorker(opts: {
  server: string; token: string; concurrency: number; workDir: string; engine: BuildEngine;
  /** The git fetcher, made once the server's settings are known (its destination guard follows allowPrivateNetworks). */
  git: (settings: WorkerSettings) => GitFetcher;
  name?: string; onError?: (err: unknown) => void;
}): Promise<RemoteWorker> {
  const client = createWorkerClient({ server: opts.server, token: opts.token });
  const settings = await client.call<WorkerSettings>('/worker/config');
  const id = `${(opts.name ?? hostname()).replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60)}-${randomId(4)}`;
  const loops = createWorkerLoops({
    backend: createRemoteBackend(client), engine: opts.engine, git: opts.git(settings),
    registry: settings.registry, workDir: join(opts.workDir, 'work'),
    buildTimeoutMs: settings.buildTimeoutMs, heartbeatMs: settings.heartbeatMs,
    workerId: id, concurrency: opts.concurrency, idleMs: 1000, onError: opts.onError,
  });
  loops.start();
  return { id, settings, loops, stop: (o) => loops.stop(o) };
}
