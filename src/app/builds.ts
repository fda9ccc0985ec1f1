import { cpus } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Metadata } from '../metadata/types.ts';
import type { BlobReader } from '../storage/types.ts';
import { createFsLogStore, type LogStore } from '../storage/logs.ts';
import { createEventBus, type EventBus } from '../events/bus.ts';
import type { JobTokens } from '../auth/index.ts';
import { createCatalog, type Catalog } from '../builds/catalog.ts';
import { createDeployer, type Deployer } from '../builds/deploy.ts';
import { createScheduler, type Scheduler } from '../builds/scheduler.ts';
import { createGitFetcher } from '../builds/git/fetcher.ts';
import { destinationGuard } from './destinations.ts';
import { AppError } from '../core/errors.ts';
import { createBuildahEngine } from '../builds/engines/buildah.ts';
import { createDockerEngine } from '../builds/engines/docker.ts';
import type { SandboxPolicy } from '../builds/engines/sandbox.ts';
import type { BuildEngine, GitFetcher } from '../builds/types.ts';
import type { BuildBackend } from '../builds/backend.ts';
import { createLocalBackend } from '../builds/backend-local.ts';
import { countingSlots, createFairQueue, type FairQueue } from '../builds/fairness.ts';
import { createQueueReporter, type QueueReporter } from '../builds/queue-estimate.ts';
import { fanoutFor, freshLogStores } from './fanout.ts';
import { imageDescriber } from './images.ts';

/** The builder half, assembled: catalog, deployer, log store, event bus, and (once started) the in-process workers. */
export interface BuildsPart {
  catalog: Catalog; deployer: Deployer; logs: LogStore; events: EventBus;
  /** The git fetcher (the poller reads branch heads with it). */
  git: GitFetcher;
  start(jobTokens: JobTokens): void;
  /**
   * The backend the /api/v1/worker/* endpoints serve remote workers from (their log appends are cluster-safe; their
   * claims and heartbeats count as build slots of the fair queue).
   */
  remoteBackend(jobTokens: JobTokens): BuildBackend;
  /** Queued builds' positions and wait estimates (the API's `queue` field). */
  queue: QueueReporter;
  stop(): Promise<void>;
}

/** Picks the configured engine. */
function engineFor(config: Config, dataDir: string): BuildEngine {
  if (config.buildEngine === 'docker') {
    // The classic builder can put RUN containers on host, none or a docker network, but not in a namespace of ours:
    // the isolated network (loopback, private and link-local ranges unreachable) is buildah's. See docs/security.md.
    if (config.buildNetwork === 'isolated') {
      throw new AppError('INVALID', 'buildNetwork "isolated" needs the buildah engine: with buildEngine=docker set buildNetwork to none (RUN steps without network) or host (RUN steps share the Docker host\'s network: unsafe for untrusted code)');
    }
    const p = sandboxPolicy(config);
    return createDockerEngine({ host: config.dockerHost ?? 'unix:///var/run/docker.sock', network: config.buildNetwork, memoryBytes: p.memoryBytes, cpus: p.cpus });
  }
  return createBuildahEngine({ workDir: join(dataDir, 'buildah'), isolation: config.buildIsolation, sandbox: sandboxPolicy(config), mirrors: Object.keys(config.upstreams) });
}

/** The RUN-step sandbox the configuration asks for. */
export function sandboxPolicy(config: Pick<Config, 'buildNetwork' | 'buildAllowedNetworks' | 'buildMemoryMb' | 'buildCpus' | 'buildPidsLimit'>): SandboxPolicy {
  return {
    network: config.buildNetwork,
    allowedNetworks: config.buildAllowedNetworks,
    memoryBytes: config.buildMemoryMb > 0 ? config.buildMemoryMb * 1024 * 1024 : null,
    cpus: config.buildCpus > 0 ? config.buildCpus : null,
    pids: config.buildPidsLimit > 0 ? config.buildPidsLimit : null,
  };
}

/** Builds the builder part from configuration (the composition root's half for builds). */
export async function createBuilds(opts: {
  config: Config; dataDir: string; metadata: Metadata; blobs: BlobReader; secretKey: Uint8Array; registryHost: string; log: Logger;
  /** The build-log store (backends.ts picks it); default: files under <dataDir>/storage. */
  logs?: LogStore;
}): Promise<BuildsPart> {
  const { config, metadata, secretKey, log } = opts;
  const logs = opts.logs ?? createFsLogStore({ root: join(opts.dataDir, 'storage'), maxBytes: config.logMaxBytes });
  const events = createEventBus({ metadata, logs, transport: await fanoutFor(config), onListenerError: (err) => log.warn({ err }, 'event listener failed') });
  const git = createGitFetcher({ cacheDir: join(opts.dataDir, 'git'), allowLocal: config.allowLocalGit, guard: destinationGuard(config) });
  const catalog = createCatalog({ metadata, secretKey, allowLocalGit: config.allowLocalGit });
  let scheduler: Scheduler | null = null;
  // In-process slots are known now; remote ones are counted as they ask for work (fairness.ts says why).
  const concurrency = config.buildConcurrency ?? cpus().length;
  const fair: FairQueue = createFairQueue({ configured: config.maxConcurrentBuildsPerAccount, local: concurrency, windowMs: 2 * config.buildStaleSeconds * 1000 });
  let unsubscribe: (() => void) | undefined;
  let recheckTimer: NodeJS.Timeout | undefined;
  const backendFor = (jobTokens: JobTokens, logStore: LogStore) => createLocalBackend({
    metadata, events, logs: logStore, jobTokens, secretKey, registryHost: opts.registryHost, baseNamespaces: config.baseNamespaces,
    describeImage: imageDescriber(metadata, opts.blobs), onFinished: (b) => deployer.buildFinished(b),
    maxPerAccount: fair.maxPerAccount,
  });
  const deployer = createDeployer({ metadata, events, git, secretKey, registryHost: opts.registryHost, kick: () => scheduler?.kick() });
  return {
    catalog, deployer, logs, events, git,
    queue: createQueueReporter({ metadata, fair }),
    remoteBackend(jobTokens) {
      const fresh = freshLogStores(config, opts.dataDir);
      return countingSlots(backendFor(jobTokens, { append: async (id, lines, o) => (await fresh)().append(id, lines, o), read: (id, after, limit) => logs.read(id, after, limit), delete: (id) => logs.delete(id) }), fair.slots);
    },
    start(jobTokens) {
      // The scheduler runs even with no in-process workers (buildConcurrency 0): its reaper requeues the builds of
      // remote workers that stopped heartbeating.
      const engine = engineFor(config, opts.dataDir);
      if (concurrency > 0) engine.check().catch((err: unknown) => log.error({ err }, `build engine ${engine.name} is not usable: ${(err as Error).message}`));
      scheduler = createScheduler({
        metadata, events, engine, git, backend: backendFor(jobTokens, logs),
        registry: { host: opts.registryHost, insecure: config.publicUrl.startsWith('http://') },
        workDir: join(opts.dataDir, 'work'),
        buildTimeoutMs: config.buildTimeoutMinutes * 60_000,
        heartbeatMs: config.buildHeartbeatSeconds * 1000,
        staleMs: config.buildStaleSeconds * 1000,
        concurrency,
        onFinished: (b) => deployer.buildFinished(b),
        onError: (err) => log.error({ err }, 'build worker error'),
      });
      scheduler.start();
      // PostgreSQL: a build queued on any node (or requeued after a lost worker) wakes this node's idle workers now
      // rather than at their next poll.
      unsubscribe = metadata.onBuildQueued?.(() => scheduler?.kick());
      // A node that dies between a build's final update and concluding its deployment would leave the deployment
      // running forever: every node re-checks running deployments at start and once per stale interval.
      const recheck = () => void deployer.recheck().catch((err: unknown) => log.error({ err }, 'deployment re-check failed'));
      recheck();
      recheckTimer = setInterval(recheck, config.buildStaleSeconds * 1000);
      recheckTimer.unref();
    },
    async stop() {
      clearInterval(recheckTimer);
      unsubscribe?.();
      await scheduler?.stop();
      await events.close();
    },
  };
}
