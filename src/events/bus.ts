import type { Metadata, StoredEvent } from '../metadata/types.ts';

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

/** Creates the bus over the metadata event log. `onListenerError` sees listener exceptions. */
export function createEventBus(opts: { metadata: Metadata; onListenerError?: (err: unknown) => void }): EventBus {
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
  return {
    async record(e) {
      const stored = await opts.metadata.events.append({
        accountId: e.accountId, applicationId: e.applicationId, kind: e.kind,
        payload: e.buildId ? { buildId: e.buildId, ...(e.payload as object) } : e.payload,
      });
      fanOut({ ...e, seq: stored.seq, createdAt: stored.createdAt });
      return stored;
    },
    publish(e) {
      fanOut({ ...e, createdAt: new Date().toISOString() });
    },
    subscribe(filter, fn) {
      const entry = { filter, fn };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
  };
}
