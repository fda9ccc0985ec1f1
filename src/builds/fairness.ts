import type { BuildBackend } from './backend.ts';

/**
 * How many builds the cluster can run at once, as this node can tell. What a "build slot" is: one claim loop — an
 * in-process worker of this node (buildConcurrency, known at start) or one slot of a remote `buildgrid worker`
 * (its --concurrency; each loop claims as `w:<token>:<host>/<slot>`). Remote slots are not configured anywhere the
 * server can read, so they are counted as they show up: a remote slot counts while it asked this node for work
 * (claim, every second when idle) or proved its build alive (heartbeat, every buildHeartbeatSeconds when busy)
 * within the last `windowMs` (2 × buildStaleSeconds). A worker that stops is forgotten after that window, as the
 * reaper forgets its builds.
 * Behind a load balancer each node counts the remote slots whose requests it sees; a worker's keep-alive connection
 * usually sticks to one node, so nodes may disagree, each limit applying to the claims it serves.
 */
export interface BuildSlots {
  /** Notes that remote worker slot `workerId` is alive now. */
  seen(workerId: string): void;
  /** In-process slots plus the remote slots seen within the window. */
  count(): number;
}

/** More distinct remote slots than this are not tracked (a bound on memory; far above any real fleet). */
const MAX_REMOTE_SLOTS = 4096;

/** Creates the counter: `local` in-process slots, remote slots forgotten `windowMs` after last seen; `now` in ms. */
export function createBuildSlots(opts: { local: number; windowMs: number; now?: () => number }): BuildSlots {
  const now = opts.now ?? Date.now;
  const remote = new Map<string, number>(); // workerId → last seen; insertion order = oldest sighting first
  const prune = (t: number) => {
    for (const [id, at] of remote) {
      if (at > t - opts.windowMs) break;
      remote.delete(id);
    }
  };
  return {
    seen(workerId) {
      const t = now();
      remote.delete(workerId); // re-insert: keeps the map ordered by last sighting
      remote.set(workerId, t);
      prune(t);
      if (remote.size > MAX_REMOTE_SLOTS) remote.delete(remote.keys().next().value!);
    },
    count() {
      prune(now());
      return opts.local + remote.size;
    },
  };
}

/**
 * The claim's per-account limit: null (fair queueing off: first come, first served) when configured 0; the
 * configured number when set; otherwise half the build slots, at least 1.
 */
export function perAccountLimit(configured: number | undefined, slots: number): number | null {
  if (configured === 0) return null;
  if (configured !== undefined) return configured;
  return Math.max(1, Math.floor(slots / 2));
}

/** Fair queueing as the composition root sets it up: the slot counter and the limit that follows from it. */
export interface FairQueue {
  slots: BuildSlots;
  /** The limit to claim with now (perAccountLimit of the current slot count). */
  maxPerAccount(): number | null;
}

/** Creates the FairQueue of a node. */
export function createFairQueue(opts: { configured: number | undefined; local: number; windowMs: number; now?: () => number }): FairQueue {
  const slots = createBuildSlots(opts);
  return { slots, maxPerAccount: () => perAccountLimit(opts.configured, slots.count()) };
}

/** `backend` with every claim and heartbeat of a remote worker slot counted in `slots`. */
export function countingSlots(backend: BuildBackend, slots: BuildSlots): BuildBackend {
  return {
    ...backend,
    claim(workerId) {
      slots.seen(workerId);
      return backend.claim(workerId);
    },
    heartbeat(build, workerId) {
      slots.seen(workerId);
      return backend.heartbeat(build, workerId);
    },
  };
}
