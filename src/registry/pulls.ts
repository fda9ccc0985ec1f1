import type { Digest } from '../core/digest.ts';
import type { Metadata } from '../metadata/types.ts';

/**
 * Last-pulled times for retention ("keep images pulled in the last P days"), kept off the pull path: a manifest
 * GET/HEAD only sets a map entry; a timer writes the map in one batch every few seconds. At 10k pulls/s of a few
 * hundred images that is a few hundred rows per flush instead of 10k writes per second. A crash loses at most one
 * interval of pull times, which a rule measured in days does not notice.
 */
export interface PullRecorder {
  /** Notes a pull in memory (no I/O). */
  record(repositoryId: string, digest: Digest): void;
  /** Writes the pulls noted since the last flush. */
  flush(): Promise<void>;
  /** Starts the periodic flush. */
  start(): void;
  /** Stops it after a last flush. */
  stop(): Promise<void>;
}

export function createPullRecorder(opts: { metadata: Metadata; flushMs?: number; maxPending?: number; onError?: (err: unknown) => void }): PullRecorder {
  const flushMs = opts.flushMs ?? 5000;
  const maxPending = opts.maxPending ?? 50_000;
  let pending = new Map<string, { repositoryId: string; digest: Digest; at: number }>();
  let chain: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;

  const flush = (): Promise<void> => {
    const batch = pending;
    pending = new Map();
    chain = chain.then(async () => {
      if (batch.size === 0) return;
      try {
        await opts.metadata.lifecycle.pulls.record([...batch.values()].map((p) => ({ repositoryId: p.repositoryId, digest: p.digest, at: new Date(p.at).toISOString() })));
      } catch (err) {
        opts.onError?.(err);
      }
    });
    return chain;
  };

  return {
    record(repositoryId, digest) {
      pending.set(`${repositoryId} ${digest}`, { repositoryId, digest, at: Date.now() });
      if (pending.size >= maxPending) void flush();
    },
    flush,
    start() {
      if (timer) return;
      timer = setInterval(() => void flush(), flushMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await flush();
    },
  };
}
