import { runBuild, type PipelineDeps } from './pipeline.ts';

/** `concurrency` claim-and-run loops over a backend (in-process workers and `buildgrid worker` share them). */
export interface WorkerLoops {
  start(): void;
  /** Wakes idle loops (something was queued). */
  kick(): void;
  /** Stops claiming; resolves when every loop has left (a running build finishes first unless `abandon`). */
  stop(opts?: { abandon?: boolean }): Promise<void>;
  /** Builds running now. */
  readonly busy: number;
}

/**
 * Each loop claims one build at a time from `deps.backend` as `<workerId>/<slot>` and runs it; an empty queue (or an
 * error) makes it wait `idleMs` or until kick().
 */
export function createWorkerLoops(opts: PipelineDeps & {
  workerId: string; concurrency: number; idleMs?: number; onError?: (err: unknown) => void;
}): WorkerLoops {
  let running = false;
  let busy = 0;
  const waiters = new Set<() => void>();
  const loops: Promise<void>[] = [];
  const idleMs = opts.idleMs ?? 1000;

  const idle = (ms: number) => new Promise<void>((resolve) => {
    const done = () => { clearTimeout(t); waiters.delete(done); resolve(); };
    const t = setTimeout(done, ms);
    waiters.add(done);
  });
  const kick = () => { for (const w of [...waiters]) w(); };

  async function loop(slot: number) {
    const workerId = `${opts.workerId}/${slot}`;
    while (running) {
      try {
        const build = await opts.backend.claim(workerId);
        if (!build) { await idle(idleMs); continue; }
        busy++;
        try {
          await runBuild(build, workerId, opts);
        } finally {
          busy--;
        }
      } catch (err) {
        opts.onError?.(err);
        await idle(idleMs);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      for (let i = 0; i < opts.concurrency; i++) loops.push(loop(i));
    },
    kick,
    async stop(o = {}) {
      running = false;
      kick();
      if (!o.abandon) await Promise.all(loops);
    },
    get busy() { return busy; },
  };
}
