/**
 * Cross-node fan-out. Each node's bus fans events out to its own listeners; a transport tells the other nodes that
 * something happened, and they read it from the shared stores — stored events from the metadata event log (by seq),
 * log lines from the log store (by line number) — so notes stay tiny (PostgreSQL's NOTIFY caps payloads at 8000
 * bytes) and a lost note is repaired by the next one.
 */
export type FanoutNote =
  /** New stored events exist (read them after the last seq this node delivered). */
  | { kind: 'events'; node: string }
  /** Log lines first..last of a build were stored. */
  | { kind: 'log'; node: string; buildId: string; accountId: string; applicationId: string | null; first: number; last: number };

/** A cross-node channel. Best effort: send never throws, and notes from this node itself are ignored by the bus. */
export interface FanoutTransport {
  send(note: FanoutNote): void;
  /** Delivers every note (including a periodic `events` note for polling transports) to `cb`. */
  start(cb: (note: FanoutNote) => void): void;
  close(): Promise<void>;
}

/**
 * A transport for nodes that share a database without notifications (SQLite on a shared disk): every `intervalMs`
 * it asks the bus to read stored events it has not delivered yet. Log lines are not carried (followers of a build's
 * log re-read the log store periodically).
 */
export function createPollingTransport(opts: { intervalMs?: number } = {}): FanoutTransport {
  let timer: NodeJS.Timeout | null = null;
  return {
    send() { /* others poll */ },
    start(cb) {
      timer = setInterval(() => cb({ kind: 'events', node: '' }), opts.intervalMs ?? 500);
      timer.unref();
    },
    async close() {
      if (timer) clearInterval(timer);
    },
  };
}
