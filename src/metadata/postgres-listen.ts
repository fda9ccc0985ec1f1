import pg from 'pg';

/** The NOTIFY channel builds.create (and a reclaim that requeues) signals on. The payload is empty. */
export const BUILD_QUEUED_CHANNEL = 'buildgrid_build_queued';

/** Reconnect delays after the listening connection is lost: 0.5 s doubling to 30 s. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/** Wake-ups for workers on every node (see subscribe). */
export interface QueueListener {
  /**
   * Calls `cb` whenever a build is queued anywhere in the database, and once after a lost connection is back (a
   * notification may have been missed meanwhile). A throwing callback does not affect the others. Resolves nothing;
   * returns the unsubscribe function. The connection is opened with the first subscription.
   */
  subscribe(cb: () => void): () => void;
  /** Closes the listening connection; later subscriptions do nothing. Idempotent. */
  close(): Promise<void>;
}

/**
 * LISTEN on a dedicated connection (not one of the pool's: a pooled connection is handed to other queries and
 * LISTEN is per session). Notifications are only a latency hint — workers still poll — so failures are swallowed
 * and the connection is re-established with backoff for as long as someone listens.
 */
export function createQueueListener(opts: { url: string; types?: pg.CustomTypesConfig }): QueueListener {
  const listeners = new Set<() => void>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let retry: NodeJS.Timeout | null = null;
  let delay = RETRY_MIN_MS;
  let closed = false;

  const fire = () => {
    for (const cb of [...listeners]) {
      try {
        cb();
      } catch {
        // one bad listener must not starve the others
      }
    }
  };

  const scheduleReconnect = () => {
    if (closed || retry || listeners.size === 0) return;
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, delay);
    retry.unref();
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  };

  function connect(): Promise<void> {
    if (closed || client || connecting) return connecting ?? Promise.resolve();
    const c = new pg.Client({ connectionString: opts.url, types: opts.types, connectionTimeoutMillis: 10_000 });
    const lost = () => {
      if (client !== c) return;
      client = null;
      void c.end().catch(() => undefined);
      scheduleReconnect();
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', (n) => {
      if (n.channel === BUILD_QUEUED_CHANNEL) fire();
    });
    connecting = (async () => {
      try {
        await c.connect();
        await c.query(`LISTEN ${BUILD_QUEUED_CHANNEL}`);
        if (closed) {
          await c.end();
          return;
        }
        const reconnected = delay > RETRY_MIN_MS;
        client = c;
        delay = RETRY_MIN_MS;
        if (reconnected) fire(); // something may have been queued while we were deaf
      } catch {
        await c.end().catch(() => undefined);
        scheduleReconnect();
      } finally {
        connecting = null;
      }
    })();
    return connecting;
  }

  return {
    subscribe(cb) {
      if (closed) return () => undefined;
      listeners.add(cb);
      void connect();
      return () => void listeners.delete(cb);
    },
    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      if (retry) clearTimeout(retry);
      await connecting;
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
