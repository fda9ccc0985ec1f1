import { randomId } from '../core/ids.ts';
import type { Build, Metadata } from '../metadata/types.ts';
import type { EventBus } from '../events/bus.ts';
import type { PipelineDeps } from './pipeline.ts';
import { createWorkerLoops, type WorkerLoops } from './worker-loop.ts';
import { buildView } from './views.ts';

/** Runs builds from the queue in this process, and reaps the builds of dead workers (of any node or host). */
export interface Scheduler {
  start(): void;
  /** Wakes idle workers (something was queued). */
  kick(): void;
  /** Stops claiming; running builds are abandoned to be reclaimed (a restart must never leave one "running"). */
  stop(): Promise<void>;
}

/**
 * `concurrency` worker loops (possibly 0: remote workers do the builds) claim builds atomically from the metadata
 * queue. A reaper requeues (or, after maxAttempts, fails) builds whose heartbeat is older than `staleMs` — builds of
 * a crashed or killed process, in-process or a remote `buildgrid worker`: both heartbeat the same column — so no
 * build stays running forever.
 */
export function createScheduler(opts: PipelineDeps & {
  metadata: Metadata; events: EventBus; concurrency: number; staleMs: number; nodeId?: string;
  onFinished(build: Build): Promise<void>;
  onError?: (err: unknown) => void;
}): Scheduler {
  const node = opts.nodeId ?? `node-${randomId(6)}`;
  const loops: WorkerLoops = createWorkerLoops({ ...opts, workerId: node });
  let reaper: NodeJS.Timeout | null = null;
  let started = false;

  async function reap() {
    try {
      const changed = await opts.metadata.builds.reclaimStale(new Date(Date.now() - opts.staleMs).toISOString(),
        'the worker running this build stopped responding (crash or restart), and retries are exhausted');
      for (const b of changed) {
        if (b.status === 'failed') {
          const service = await opts.metadata.services.get(b.serviceId);
          await opts.events.record({ kind: 'build.failed', accountId: b.accountId, applicationId: b.applicationId, buildId: b.id, payload: buildView(b, service, opts.registry.host) });
          await opts.onFinished(b);
        }
      }
      if (changed.length) loops.kick();
    } catch (err) {
      opts.onError?.(err);
    }
  }

  return {
    start() {
      if (started) return;
      started = true;
      loops.start();
      reaper = setInterval(() => void reap(), Math.max(500, Math.floor(opts.staleMs / 3)));
      reaper.unref();
      void reap();
    },
    kick: () => loops.kick(),
    async stop() {
      if (reaper) clearInterval(reaper);
      await loops.stop({ abandon: true });
    },
  };
}
