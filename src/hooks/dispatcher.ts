import { AppError } from '../core/errors.ts';
import type { NetGuard } from '../core/netguard.ts';
import type { EventBus, LiveEvent } from '../events/bus.ts';
import { NOTIFICATION_EVENTS, type Metadata, type NotificationDelivery } from '../metadata/types.ts';
import { openEndpointSecret } from './secrets.ts';
import { postNotification } from './send.ts';
import { signBody } from './signature.ts';

/**
 * Sends notifications. Build and deployment events from the bus become one queued delivery per subscribed endpoint
 * of the account (rows in the metadata store); a loop takes due deliveries, POSTs their JSON signed with the
 * endpoint's secret, and records every attempt. A non-2xx answer, a timeout or a refused connection is retried
 * after base·2^(n-1) (capped) until maxAttempts; because the queue lives in the store, a restart resumes retries.
 *
 * Each POST carries:
 *   Content-Type: application/json
 *   X-BuildGrid-Event: build.succeeded                    (the event)
 *   X-BuildGrid-Delivery: <delivery id>                   (new for a redelivery)
 *   X-BuildGrid-Signature-256: sha256=<hex HMAC-SHA256 of the body under the endpoint's secret>
 * The receiver is on the internet and chosen by a tenant, so send.ts treats it as hostile: its address is checked
 * against the operator's allowPrivateNetworks (refused: loopback, private, link-local, this machine) and pinned for
 * the connection, redirects are not followed (a 3xx is a failed attempt whose Location is kept in the headers), one
 * timeout covers the whole exchange, and the answer is kept as status and headers only (at most 4 KiB of its body are
 * read, none stored).
 */

export interface DispatcherOptions {
  metadata: Metadata;
  events: EventBus;
  secretKey: Uint8Array;
  maxAttempts: number;
  /** Delay before the second attempt; each later one doubles, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Limit of one attempt: connecting, sending, and the receiver's whole answer. */
  timeoutMs: number;
  /** Which destinations may be called (allowPrivateNetworks). */
  guard: NetGuard;
  /** How often to look for due deliveries when nothing wakes the loop (other nodes' work, expired leases). */
  idleMs?: number;
  onError?: (err: unknown) => void;
}

export interface Dispatcher {
  start(): void;
  /** Looks for due deliveries now. */
  kick(): void;
  /** Stops taking work and waits for attempts in flight. */
  stop(): Promise<void>;
}

const BATCH = 10;
const NOTIFY = new Set<string>(NOTIFICATION_EVENTS);

/** The delay after the `n`th failed attempt (n ≥ 1). */
export function backoffDelay(n: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, n - 1));
}

/** The JSON body of a notification about a stored event. */
export async function notificationBody(metadata: Metadata, e: LiveEvent): Promise<string> {
  const [account, app] = await Promise.all([metadata.accounts.get(e.accountId), e.applicationId ? metadata.applications.get(e.applicationId) : null]);
  const subject = e.kind.startsWith('build.') ? { build: e.payload } : { deployment: e.payload };
  return JSON.stringify({
    event: e.kind, eventId: e.seq ?? null, createdAt: e.createdAt,
    account: account ? { id: account.id, namespace: account.namespace, name: account.name } : { id: e.accountId },
    application: app ? { id: app.id, name: app.name, slug: app.slug } : null,
    ...subject,
  });
}

export function createDispatcher(opts: DispatcherOptions): Dispatcher {
  const { metadata } = opts;
  const idleMs = opts.idleMs ?? 5000;
  const leaseMs = opts.timeoutMs + 30_000;
  const onError = opts.onError ?? (() => {});
  let stopped = true;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let unsubscribe: (() => void) | null = null;

  async function enqueueFor(e: LiveEvent): Promise<void> {
    const endpoints = (await metadata.notifications.listEndpoints(e.accountId)).filter((x) => (x.events as string[]).includes(e.kind));
    if (endpoints.length === 0) return;
    const payload = await notificationBody(metadata, e);
    for (const x of endpoints) {
      await metadata.notifications.enqueue({ endpointId: x.id, accountId: e.accountId, event: e.kind, eventSeq: e.seq ?? null, payload, maxAttempts: opts.maxAttempts, redeliveryOf: null });
    }
    kick();
  }

  async function attempt(d: NotificationDelivery): Promise<void> {
    const endpoint = await metadata.notifications.getEndpoint(d.endpointId);
    if (!endpoint) return; // deleted meanwhile: its deliveries went with it
    const startedAt = new Date();
    let statusCode: number | null = null;
    let error: string | null = null;
    let headers: Record<string, string> | null = null;
    try {
      const answer = await postNotification({
        url: endpoint.url, body: d.payload, timeoutMs: opts.timeoutMs, guard: opts.guard,
        headers: {
          'content-type': 'application/json', 'user-agent': 'BuildGrid-Notifications/1',
          'x-buildgrid-event': d.event, 'x-buildgrid-delivery': d.id,
          'x-buildgrid-signature-256': signBody(openEndpointSecret(opts.secretKey, endpoint), d.payload),
        },
      });
      statusCode = answer.statusCode;
      headers = answer.headers;
      if (statusCode >= 300 && statusCode < 400) error = `the receiver answered HTTP ${statusCode}: redirects are not followed, give the final URL of the receiver`;
      else if (statusCode < 200 || statusCode > 299) error = `the receiver answered HTTP ${statusCode}`;
    } catch (err) {
      const e = err as Error & { code?: string };
      error = e instanceof AppError ? e.message : e.code ? `${e.code} (${e.message})` : e.message;
    }
    const n = d.attemptCount + 1;
    const next = error === null ? { status: 'succeeded' as const, nextAttemptAt: null }
      : n >= d.maxAttempts ? { status: 'failed' as const, nextAttemptAt: null }
        : { status: 'pending' as const, nextAttemptAt: new Date(Date.now() + backoffDelay(n, opts.backoffMs, opts.maxBackoffMs)).toISOString() };
    await metadata.notifications.recordAttempt(d.id, { startedAt: startedAt.toISOString(), durationMs: Date.now() - startedAt.getTime(), statusCode, error, headers }, next);
  }

  async function loop(): Promise<void> {
    try {
      for (;;) {
        again = false;
        const now = Date.now();
        const batch = await metadata.notifications.claimDue(new Date(now).toISOString(), new Date(now + leaseMs).toISOString(), BATCH);
        await Promise.all(batch.map((d) => attempt(d).catch(onError)));
        if (stopped || (batch.length < BATCH && !again)) break;
      }
      const next = await metadata.notifications.nextDueAt();
      schedule(next ? Math.min(idleMs, Math.max(0, Date.parse(next) - Date.now())) : idleMs);
    } catch (err) {
      onError(err);
      schedule(idleMs);
    }
  }

  function schedule(ms: number): void {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(kick, ms);
    timer.unref();
  }

  function kick(): void {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    if (timer) clearTimeout(timer);
    timer = null;
    running = loop().finally(() => {
      running = null;
      if (again) kick();
    });
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      unsubscribe = opts.events.subscribe((e) => NOTIFY.has(e.kind) && e.seq !== undefined, (e) => {
        void enqueueFor(e).catch(onError);
      });
      kick();
    },
    kick,
    async stop() {
      stopped = true;
      unsubscribe?.();
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
