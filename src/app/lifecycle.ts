import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Metadata } from '../metadata/types.ts';
import type { BlobMaintenance } from '../storage/gc.ts';
import type { BlobReader } from '../storage/types.ts';
import { createLifecycle, type Lifecycle } from '../lifecycle/service.ts';
import { createPullRecorder, type PullRecorder } from '../registry/pulls.ts';

/** Retention, garbage collection and fsck, assembled, with the registry's pull recorder they read. */
export interface LifecyclePart {
  lifecycle: Lifecycle;
  pulls: PullRecorder;
  /** Before listening: resolves what a crashed run left behind. */
  recover(): Promise<void>;
  /** After listening: pull flushing and the scheduled pass. */
  start(): void;
  stop(): Promise<void>;
}

/**
 * Wires lifecycle/ to the configured blob store (`maintenance` is its garbage-collection view, from backends.ts).
 * `exclusiveStore`: this process is the only one on the metadata (SQLite), so runs left "running" are dead ones.
 */
export function createLifecyclePart(opts: {
  config: Config; metadata: Metadata; blobs: BlobReader & { sweepUploads(): Promise<number> }; maintenance: BlobMaintenance;
  exclusiveStore: boolean; registryHost: string; log: Logger;
}): LifecyclePart {
  const { config, metadata, blobs, log } = opts;
  const pulls = createPullRecorder({ metadata, onError: (err) => log.warn({ err }, 'recording pulls failed') });
  const lifecycle = createLifecycle({
    metadata, blobs: opts.maintenance, reader: blobs, sweepUploads: () => blobs.sweepUploads(),
    registryHost: opts.registryHost, maxManifestBytes: config.maxManifestBytes,
    minBlobAgeMs: config.gcMinBlobAgeSeconds * 1000, batchSize: config.gcBatchSize, intervalMs: config.gcIntervalMinutes * 60_000,
    exclusiveStore: opts.exclusiveStore, flushPulls: () => pulls.flush(), log: log.child({ part: 'lifecycle' }),
  });
  return {
    lifecycle, pulls,
    async recover() {
      await lifecycle.recover();
    },
    start() {
      pulls.start();
      lifecycle.startSchedule();
    },
    async stop() {
      await lifecycle.stop();
      await pulls.stop();
    },
  };
}
