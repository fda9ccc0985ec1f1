import { randomId } from '../core/ids.ts';
import type { Metadata, StoredEvent } from '../metadata/types.ts';
import type { LogStore } from '../storage/logs.ts';
import type { FanoutTransport } from './transport.ts';

/**
 * The typed event stream. Timeline events are stored (with an increasing sequence number, so live streams can resume
 * with Last-Event-ID) and fanned out; log lines are fanned out only (they live in the log store). One failing listener
 * never affects the emitter or other listeners.
 */
export type EventKind =
  | 'build.queued' | 'build.started' | 'build.phase' | 'build.succeeded' | 'build.failed' | 'build.cancelled'
  | 'deployment.started' | 'deployment.succeeded' | 'deployment.failed';

/** An event as listeners see it. `seq` is set for stored events. */
export interface LiveEvent {
  seq?: number;
  kind: EventKind | 'build.log';
  accountId: string;
  applicationId: string | null;
  /** The build the event is about, when any (log lines always have one). */
  buildId?: string;
  payload: unknown;
  createdAt: string;
}

/** Publishes and subscribes. */
export interface EventBus {
  /** Stores a timeline event and fans it out; resolves to the stored event. */
  record(e: { kind: EventKind; accountId: string; applicationId: string | null; buildId?: string; payload: unknown }): Promise<StoredEvent>;
  /** Fans out a live-only event (not stored). */
  publish(e: Omit<LiveEvent, 'createdAt' | 'seq'>): void;
  /** Calls `fn` for matching events until the returned function is called. */
  subscribe(filter: (e: LiveEvent) => boolean, fn: (e: LiveEvent) => void): () => void;
}

/**
 * Creates the bus over the metadata event log. `onListenerError` sees listener exceptions.
 *
 * Without `transport` (one node) every event is fanned out as it is recorded. With one (several nodes on one
 * database), stored events are delivered to listeners strictly in seq order with no gaps: an event recorded here
 * whose seq is not the next one, or a note from another node, makes the bus read what it has not delivered from the
 * event log first (timeline streams drop anything at or below the last seq they sent, so order matters). Log lines
 * of other nodes are read from `logs` by the line numbers in the note.
 */
export function createEventBus(opts: {
  metadata: Metadata; onListenerError?: (err: unknown) => void;
  transport?: FanoutTransport; logs?: Pick<LogStore, 'read'>; nodeId?: string;
}): EventBus & { close(): Promise<void> } {
  const listeners = new Set<{ filter: (e: LiveEvent) => boolean; fn: (e: LiveEvent) => void }>();
  const fanOut = (e: LiveEvent) => {
    for (const l of listeners) {
      try {
        if (l.filter(e)) l.fn(e);
      } catch (err) {
        opts.onListenerError?.(err);
      }
    }
  };
  const { transport } = opts;
  const node = opts.nodeId ?? randomId(8);
  let delivered = 0;
  let chain: Promise<unknown> = transport ? opts.metadata.events.lastSeq().then((s) => { delivered = s; }).catch(() => undefined) : Promise.resolve();
  /** Runs `fn` after everything queued before it (deliveries stay ordered). */
  const serial = (fn: () => Promise<void>) => {
    const run = chain.then(fn);
    chain = run.catch((err: unknown) => opts.onListenerError?.(err));
    return run;
  };
  const catchUp = () => serial(async () => {
    for (;;) {
      const batch = await opts.metadata.events.list({ afterSeq: delivered, limit: 500 });
      for (const s of batch) deliverStored(s);
      if (batch.length < 500) return;
    }
  });
  const deliverStored = (s: StoredEvent) => {
    if (s.seq <= delivered) return;
    delivered = s.seq;
    const p = s.payload as { buildId?: unknown } | null;
    const buildId = p && typeof p === 'object' && typeof p.buildId === 'string' ? p.buildId : undefined;
    fanOut({ seq: s.seq, kind: s.kind as EventKind, accountId: s.accountId, applicationId: s.applicationId, buildId, payload: s.payload, createdAt: s.createdAt });
  };
  transport?.start((note) => {
    if (note.node === node) return;
    if (note.kind === 'events') void catchUp().catch(() => undefined);
    else if (opts.logs) {
      const logs = opts.logs;
      void serial(async () => {
        const lines = await logs.read(note.buildId, note.first - 1, note.last - note.first + 1);
        if (lines.length) fanOut({ kind: 'build.log', accountId: note.accountId, applicationId: note.applicationId, buildId: note.buildId, payload: { lines }, createdAt: new Date().toISOString() });
      }).catch(() => undefined);
    }
  });
  return {
    async record(e) {
      const stored = await opts.metadata.events.append({
        accountId: e.accountId, applicationId: e.applicationId, kind: e.kind,
        payload: e.buildId ? { buildId: e.buildId, ...(e.payload as object) } : e.payload,
      });
      if (!transport) {
        fanOut({ ...e, seq: stored.seq, createdAt: stored.createdAt });
        return stored;
      }
      transport.send({ kind: 'events', node });
      await serial(async () => {
        if (stored.seq === delivered + 1) {
          delivered = stored.seq;
          fanOut({ ...e, seq: stored.seq, createdAt: stored.createdAt });
        }
      });
      if (stored.seq > delivered) await catchUp();
      return stored;
    },
    publish(e) {
      fanOut({ ...e, createdAt: new Date().toISOString() });
      const lines = e.kind === 'build.log' ? (e.payload as { lines?: Array<{ n: number }> }).lines : undefined;
      if (transport && e.buildId && lines?.length) {
        transport.send({ kind: 'log', node, buildId: e.buildId, accountId: e.accountId, applicationId: e.applicationId, first: lines[0]!.n, last: lines[lines.length - 1]!.n });
      }
    },
    subscribe(filter, fn) {
      const entry = { filter, fn };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    async close() {
      await transport?.close();
    },
  };
}
