import { randomId } from '../core/ids.ts';
import type { Metadata } from '../metadata/types.ts';
import type { EventBus } from '../events/bus.ts';
import { runBuild, type PipelineDeps } from './pipeline.ts';
import { buildView } from './views.ts';

/** Runs builds from the queue in this process. */
export interface Scheduler {
  start(): void;
  /** Wakes idle workers (something was queued). */
  kick(): void;
  /** Stops claiming; running builds are abandoned to be reclaimed (a restart must never leave one "running"). */
  stop(): Promise<void>;
}

/**
 * `concurrency` worker loops claim builds atomically from the metadata queue. A reaper requeues (or, after
 * maxAttempts, fails) builds whose heartbeat is older than `staleMs` — builds of a crashed or killed process — so no
 * build stays running forever.
 */
export function createScheduler(opts: PipelineDeps & {
  metadata: Metadata; events: EventBus; concurrency: number; staleMs: number; nodeId?: string;
  onError?: (err: unknown) => void;
}): Scheduler {
  const node = opts.nodeId ?? `node-${randomId(6)}`;
  let running = false;
  const waiters = new Set<() => void>();
  const loops: Promise<void>[] = [];
  let reaper: NodeJS.Timeout | null = null;

  const idle = (ms: number) => new Promise<void>((resolve) => {
    const done = () => { clearTimeout(t); waiters.delete(done); resolve(); };
    const t = setTimeout(done, ms);
    waiters.add(done);
  });

  async function loop(slot: number) {
    const workerId = `${node}/${slot}`;
    while (running) {
      try {
        const build = await opts.metadata.builds.claim(workerId);
        if (!build) { await idle(1000); continue; }
        await runBuild(build, workerId, opts);
      } catch (err) {
        opts.onError?.(err);
        await idle(1000);
      }
    }
  }

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
      if (changed.length) kick();
    } catch (err) {
      opts.onError?.(err);
    }
  }

  function kick() {
    for (const w of [...waiters]) w();
  }

  return {
    start() {
      if (running) return;
      running = true;
      for (let i = 0; i < opts.concurrency; i++) loops.push(loop(i));
      reaper = setInterval(() => void reap(), Math.max(500, Math.floor(opts.staleMs / 3)));
      reaper.unref();
      void reap();
    },
    kick,
    async stop() {
      running = false;
      if (reaper) clearInterval(reaper);
      kick();
    },
  };
}
