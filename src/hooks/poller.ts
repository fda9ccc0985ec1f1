import type { Metadata, Service } from '../metadata/types.ts';
import type { DeployFn, ResolveHeadFn } from './types.ts';

/**
 * Polling for repositories that cannot send webhooks: every tick, each service with pollIntervalSeconds set whose
 * turn is due (taken atomically in the store, so several nodes never poll one service twice) has its branch head
 * read with `git ls-remote`; a head different from the last one seen is deployed with trigger 'poll' (a commit that
 * already has an image builds nothing). The first poll of a service deploys its current head.
 */

export interface Poller {
  start(): void;
  /** Polls every due service once (tests call it directly). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export function createPoller(opts: {
  metadata: Metadata; resolveHead: ResolveHeadFn; deploy: DeployFn; tickMs: number; onError?: (err: unknown, service?: Service) => void;
}): Poller {
  const { metadata } = opts;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> | null = null;

  async function pollOne(s: Service): Promise<void> {
    const now = Date.now();
    const state = await metadata.polls.claim(s.id, new Date(now - s.pollIntervalSeconds! * 1000).toISOString(), new Date(now).toISOString());
    if (!state) return;
    try {
      const head = await opts.resolveHead(s);
      if (head === state.lastCommit) return await metadata.polls.record(s.id, { lastError: null });
      const app = await metadata.applications.get(s.applicationId);
      const account = app ? await metadata.accounts.get(app.accountId) : null;
      if (!app || !account) return;
      await opts.deploy({ account, app, services: [s.name], commit: head, trigger: 'poll', triggeredBy: 'poller' });
      await metadata.polls.record(s.id, { lastCommit: head, lastError: null });
    } catch (err) {
      await metadata.polls.record(s.id, { lastError: (err as Error).message ?? String(err) });
      opts.onError?.(err, s);
    }
  }

  async function tick(): Promise<void> {
    for (const s of await metadata.services.listPolled()) await pollOne(s);
  }

  function schedule(): void {
    timer = setTimeout(() => {
      current = tick().catch((err: unknown) => opts.onError?.(err)).finally(() => {
        current = null;
        if (timer) schedule();
      });
    }, opts.tickMs);
    timer.unref();
  }

  return {
    start() {
      if (!timer) schedule();
    },
    tick,
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await current;
    },
  };
}
