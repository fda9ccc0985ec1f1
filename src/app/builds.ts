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
import { createBuildahEngine } from '../builds/engines/buildah.ts';
import { createDockerEngine } from '../builds/engines/docker.ts';
import type { BuildEngine } from '../builds/types.ts';
import { imageDescriber } from './images.ts';

/** The builder half, assembled: catalog, deployer, log store, event bus, and (once started) the in-process workers. */
export interface BuildsPart {
  catalog: Catalog; deployer: Deployer; logs: LogStore; events: EventBus;
  start(jobTokens: JobTokens): void;
  stop(): Promise<void>;
}

/** Picks the configured engine. */
function engineFor(config: Config, dataDir: string): BuildEngine {
  if (config.buildEngine === 'docker') {
    return createDockerEngine({ host: config.dockerHost ?? 'unix:///var/run/docker.sock' });
  }
  return createBuildahEngine({ workDir: join(dataDir, 'buildah') });
}

/** Builds the builder part from configuration (the composition root's half for builds). */
export async function createBuilds(opts: {
  config: Config; dataDir: string; metadata: Metadata; blobs: BlobReader; secretKey: Uint8Array; registryHost: string; log: Logger;
}): Promise<BuildsPart> {
  const { config, metadata, secretKey, log } = opts;
  const logs = createFsLogStore({ root: join(opts.dataDir, 'storage'), maxBytes: config.logMaxBytes });
  const events = createEventBus({ metadata, onListenerError: (err) => log.warn({ err }, 'event listener failed') });
  const git = createGitFetcher({ cacheDir: join(opts.dataDir, 'git'), allowLocal: config.allowLocalGit });
  const catalog = createCatalog({ metadata, secretKey, allowLocalGit: config.allowLocalGit });
  let scheduler: Scheduler | null = null;
  const deployer = createDeployer({ metadata, events, git, secretKey, registryHost: opts.registryHost, kick: () => scheduler?.kick() });
  return {
    catalog, deployer, logs, events,
    start(jobTokens) {
      const concurrency = config.buildConcurrency ?? cpus().length;
      if (concurrency === 0) return;
      const engine = engineFor(config, opts.dataDir);
      engine.check().catch((err: unknown) => log.error({ err }, `build engine ${engine.name} is not usable: ${(err as Error).message}`));
      scheduler = createScheduler({
        metadata, events, logs, engine, git, jobTokens, secretKey,
        registry: { host: opts.registryHost, insecure: config.publicUrl.startsWith('http://') },
        baseNamespaces: config.baseNamespaces,
        describeImage: imageDescriber(metadata, opts.blobs),
        workDir: join(opts.dataDir, 'work'),
        buildTimeoutMs: config.buildTimeoutMinutes * 60_000,
        heartbeatMs: config.buildHeartbeatSeconds * 1000,
        staleMs: config.buildStaleSeconds * 1000,
        concurrency,
        onFinished: (b) => deployer.buildFinished(b),
        onError: (err) => log.error({ err }, 'build worker error'),
      });
      scheduler.start();
      void deployer.recheck().catch((err: unknown) => log.error({ err }, 'deployment re-check failed'));
    },
    async stop() {
      await scheduler?.stop();
    },
  };
}
