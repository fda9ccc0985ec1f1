import type { Build, Metadata, QueuePlace } from '../metadata/types.ts';
import type { FairQueue } from './fairness.ts';

/** Where a queued build stands, as the API, the CLI and the dashboard show it. */
export interface QueueView {
  /** 1 = the next build any free slot takes; counts the builds expected to be claimed before it, plus one. */
  position: number;
  /** Its place among its own account's queued builds (1 = the account's next). */
  accountPosition: number;
  /** Seconds until it is expected to start, from recent durations of its service; null with no history or no slots. */
  estimatedWaitSeconds: number | null;
  /** now + estimatedWaitSeconds, or null. */
  estimatedStartAt: string | null;
}

/**
 * Estimates a queued build's wait from its QueuePlace. D is the mean of the service's recent claim-to-finish times;
 * each running build is assumed to have a whole D left (so the estimate errs long, never promising too early).
 * - Builds ahead. First come, first served (maxPerAccount null): every older queued build. Fair: the account's own
 *   older builds, plus from each other account as many as it gets turns before ours — one per round for the
 *   accountAhead rounds before ours, and one more unless it runs more builds than our account (it may go first in
 *   our round too: fewer running goes first, a tie is decided by turn), never more than it has queued.
 * - The slot bound: with S slots busy with R running builds and `ahead` queued first, R + ahead − S + 1 builds
 *   must finish, S at a time: ⌈that / S⌉ · D.
 * - The account bound (fair only): the account runs at most L; with r running and accountAhead queued first,
 *   r + accountAhead − L + 1 of its own must finish, L at a time: ⌈that / L⌉ · D.
 * The wait is the larger bound.
 */
export function estimateQueue(place: QueuePlace, o: { accountId: string; slots: number; maxPerAccount: number | null; now: number }): QueueView {
  const own = place.accounts.find((a) => a.accountId === o.accountId) ?? { accountId: o.accountId, queued: 1, running: 0 };
  let ahead = place.globalAhead;
  if (o.maxPerAccount !== null) {
    ahead = place.accountAhead;
    for (const a of place.accounts) {
      if (a.accountId === o.accountId) continue;
      ahead += Math.min(a.queued, place.accountAhead + (a.running <= own.running ? 1 : 0));
    }
  }
  const running = place.accounts.reduce((n, a) => n + a.running, 0);
  const d = place.recentSeconds.length ? place.recentSeconds.reduce((x, y) => x + y, 0) / place.recentSeconds.length : null;
  let wait: number | null = null;
  if (d !== null && o.slots > 0) {
    const rounds = (finishes: number, width: number) => Math.ceil(Math.max(0, finishes) / width);
    let n = rounds(running + ahead - o.slots + 1, o.slots);
    if (o.maxPerAccount !== null) n = Math.max(n, rounds(own.running + place.accountAhead - o.maxPerAccount + 1, o.maxPerAccount));
    wait = Math.round(n * d);
  }
  return {
    position: ahead + 1,
    accountPosition: place.accountAhead + 1,
    estimatedWaitSeconds: wait,
    estimatedStartAt: wait === null ? null : new Date(o.now + wait * 1000).toISOString(),
  };
}

/** Answers QueueView for builds (the API's `queue` field). */
export interface QueueReporter {
  /** The build's QueueView, or null when it is not queued (running, final, or claimed meanwhile). */
  place(build: Build): Promise<QueueView | null>;
}

/** Creates the reporter over the metadata store and this node's fair-queue settings; `now` in ms. */
export function createQueueReporter(opts: { metadata: Pick<Metadata, 'builds'>; fair: FairQueue; now?: () => number }): QueueReporter {
  const now = opts.now ?? Date.now;
  return {
    async place(build) {
      if (build.status !== 'queued') return null;
      const place = await opts.metadata.builds.queuePlace(build.id);
      if (!place) return null;
      return estimateQueue(place, { accountId: build.accountId, slots: opts.fair.slots.count(), maxPerAccount: opts.fair.maxPerAccount(), now: now() });
    },
  };
}
