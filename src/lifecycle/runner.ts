import { AppError } from '../core/errors.ts';
import type { LifecycleRun, Metadata, RunKind } from '../metadata/types.ts';

/** How often a run proves it is alive, and how old a heartbeat must be before another node takes over. */
export const HEARTBEAT_MS = 3_000;
export const STALE_MS = 30_000;

/** What a run's body returns: a short summary (listed in history) and the full report. */
export interface RunResult { summary: Record<string, unknown>; report: unknown }

/** What a run's body gets: its run, a signal (server shutdown) and a progress callback (also a heartbeat). */
export interface RunContext { run: LifecycleRun; signal: AbortSignal; progress: (phase: string) => Promise<void> }
export type RunBody = (ctx: RunContext) => Promise<RunResult>;

export interface RunRequest { kind: RunKind; trigger: string; requestedBy: string; dryRun: boolean; options: Record<string, unknown> }

/**
 * Runs lifecycle jobs one at a time across every node: a run row in the metadata store is the lease
 * (RunsRepo.start refuses while a live one exists), kept alive by a heartbeat. A body gets an AbortSignal (server
 * shutdown) and a progress callback that doubles as a heartbeat between batches.
 */
export interface Runner {
  /** Records the run and starts `body` in the background; resolves once the run is recorded. Throws CONFLICT. */
  start(req: RunRequest, body: RunBody): Promise<LifecycleRun>;
  /** Runs `body` to completion under a run (same lease); resolves to the finished run and the body's result. */
  run(req: RunRequest, body: RunBody): Promise<{ run: LifecycleRun; result: RunResult }>;
  /** The finished run: waits for a run of this process, polls the store for another node's. */
  wait(id: string, timeoutMs?: number): Promise<LifecycleRun>;
  /** Aborts runs in progress and waits for them to record their end. */
  stop(): Promise<void>;
}

export function createRunner(opts: { metadata: Metadata; onError?: (err: unknown, run: LifecycleRun) => void }): Runner {
  const runs = opts.metadata.lifecycle.runs;
  const active = new Map<string, { ac: AbortController; done: Promise<LifecycleRun> }>();

  async function execute(run: LifecycleRun, ac: AbortController, body: RunBody): Promise<{ run: LifecycleRun; result: RunResult | null; error: unknown }> {
    let lastBeat = Date.now();
    const beat = setInterval(() => void runs.heartbeat(run.id).catch(() => undefined), HEARTBEAT_MS);
    beat.unref();
    const progress = async () => {
      if (Date.now() - lastBeat > HEARTBEAT_MS) {
        lastBeat = Date.now();
        await runs.heartbeat(run.id);
      }
    };
    try {
      const result = await body({ run, signal: ac.signal, progress });
      const done = await runs.finish(run.id, { status: 'succeeded', summary: result.summary, report: result.report, error: null });
      return { run: done ?? run, result, error: null };
    } catch (err) {
      opts.onError?.(err, run);
      const message = ac.signal.aborted ? 'stopped: the server is shutting down' : (err as Error)?.message ?? String(err);
      const done = await runs.finish(run.id, { status: 'failed', summary: null, report: null, error: message }).catch(() => null);
      return { run: done ?? { ...run, status: 'failed', error: message }, result: null, error: err };
    } finally {
      clearInterval(beat);
    }
  }

  const self: Runner = {
    async start(req, body) {
      const run = await runs.start(req, new Date(Date.now() - STALE_MS).toISOString());
      const ac = new AbortController();
      const done = execute(run, ac, body).then((r) => r.run).finally(() => active.delete(run.id));
      active.set(run.id, { ac, done });
      return run;
    },
    async run(req, body) {
      const run = await runs.start(req, new Date(Date.now() - STALE_MS).toISOString());
      const ac = new AbortController();
      const p = execute(run, ac, body);
      active.set(run.id, { ac, done: p.then((r) => r.run) });
      try {
        const r = await p;
        if (r.error !== null || !r.result) throw r.error;
        return { run: r.run, result: r.result };
      } finally {
        active.delete(run.id);
      }
    },
    async wait(id, timeoutMs = 24 * 3600_000) {
      const mine = active.get(id);
      if (mine) return mine.done;
      const until = Date.now() + timeoutMs;
      for (;;) {
        const run = await runs.get(id);
        if (!run) throw new AppError('NOT_FOUND', `lifecycle run ${id} not found`);
        if (run.status !== 'running') return run;
        if (Date.now() > until) return run;
        await new Promise((r) => setTimeout(r, 500));
      }
    },
    async stop() {
      for (const a of active.values()) a.ac.abort(new AppError('INTERNAL', 'the server is shutting down'));
      await Promise.allSettled([...active.values()].map((a) => a.done));
    },
  };
  return self;
}
