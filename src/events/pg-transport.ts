import pg from 'pg';
import type { FanoutNote, FanoutTransport } from './transport.ts';

/** The NOTIFY channel of the event bus (the build queue has its own, metadata/postgres-listen.ts). */
export const EVENTS_CHANNEL = 'buildgrid_events';
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * PostgreSQL LISTEN/NOTIFY between the nodes of a cluster, on one dedicated connection per node (LISTEN is per
 * session, so not a pooled one). Notes are small JSON (ids and line numbers, well under NOTIFY's 8000-byte limit).
 * A lost connection is re-opened with backoff, and after reconnecting an `events` note is delivered so the bus
 * catches up on what it missed; log lines missed meanwhile reach followers through their periodic re-read.
 */
export function createPgTransport(opts: { url: string }): FanoutTransport {
  let client: pg.Client | null = null;
  let cb: ((n: FanoutNote) => void) | null = null;
  let closed = false;
  let delay = RETRY_MIN_MS;
  let retry: NodeJS.Timeout | null = null;
  let sweep: NodeJS.Timeout | null = null;

  const connect = async () => {
    if (closed || client) return;
    const c = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: 10_000 });
    const lost = () => {
      if (client !== c) return;
      client = null;
      void c.end().catch(() => undefined);
      schedule();
    };
    c.on('error', lost);
    c.on('end', lost);
    c.on('notification', (m) => {
      if (m.channel !== EVENTS_CHANNEL || !m.payload) return;
      try {
        cb?.(JSON.parse(m.payload) as FanoutNote);
      } catch { /* a malformed note is ignored */ }
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${EVENTS_CHANNEL}`);
      if (closed) { await c.end(); return; }
      client = c;
      const wasLost = delay > RETRY_MIN_MS;
      delay = RETRY_MIN_MS;
      if (wasLost) cb?.({ kind: 'events', node: '' });
    } catch {
      await c.end().catch(() => undefined);
      schedule();
    }
  };
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => { retry = null; void connect(); }, delay);
    retry.unref();
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  };

  return {
    send(note) {
      const c = client;
      if (!c) return;
      c.query('select pg_notify($1, $2)', [EVENTS_CHANNEL, JSON.stringify(note)]).catch(() => undefined);
    },
    start(fn) {
      cb = fn;
      void connect();
      // A safety net for notes lost while sending failed: catch up on stored events every few seconds anyway.
      sweep = setInterval(() => cb?.({ kind: 'events', node: '' }), 5000);
      sweep.unref();
    },
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      if (sweep) clearInterval(sweep);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
