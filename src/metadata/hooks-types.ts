/**
 * Contracts for triggers and notifications (migration 0003): each application's redeploy hook and the log of what
 * it received, the poller's per-service state, and per-account notification endpoints with their delivery queue.
 * Same rules as types.ts: async, null for "not found", AppError CONFLICT on unique violations, ISO-8601 UTC times.
 */

/** An application's redeploy hook. The secret is encrypted by the caller (auth/secretbox) before storage. */
export interface AppHook {
  /** Public id, the last segment of the hook URL. */
  id: string;
  applicationId: string; accountId: string;
  secretEnc: string;
  /** Requests refused for a wrong signature or secret, since the hook was created. */
  failedAuthCount: number;
  lastFailedAuthAt: string | null;
  lastFailedAuthReason: string | null;
  /** When the hook last accepted a request (any outcome after authentication). */
  lastDeliveryAt: string | null;
  createdAt: string;
  rotatedAt: string | null;
}

export type HookProvider = 'github' | 'gitlab' | 'bitbucket' | 'generic';
/**
 * processing: being handled now; accepted: a deployment was started (or reused built images); skipped: a skip
 * marker in the commit message; ignored: nothing to do (another branch, a tag, another event); error: handling
 * failed (a redelivery with the same id is tried again).
 */
export type HookDeliveryStatus = 'processing' | 'accepted' | 'skipped' | 'ignored' | 'error';

/** One request a hook accepted (authenticated and well-formed). */
export interface HookDelivery {
  id: string; hookId: string; applicationId: string;
  provider: HookProvider;
  /** The host's event name (`push`, `Push Hook`, `repo:push`, `ping`…). */
  event: string;
  /** `<provider>:<delivery id>` used to recognise a delivery seen before; null when the request carried none. */
  deliveryKey: string | null;
  status: HookDeliveryStatus;
  /** What happened, for people. */
  message: string;
  branch: string | null; commit: string | null;
  deploymentId: string | null;
  createdAt: string; updatedAt: string;
}

/** What finishing a delivery records. */
export type HookDeliveryOutcome = Pick<HookDelivery, 'status' | 'message'> & Partial<Pick<HookDelivery, 'branch' | 'commit' | 'deploymentId'>>;

export interface AppHooksRepo {
  /** The application's hook, created with `input` when it has none (race-free: concurrent callers get one row). Throws NOT_FOUND for a missing application. */
  ensure(input: { id: string; applicationId: string; accountId: string; secretEnc: string }): Promise<AppHook>;
  get(id: string): Promise<AppHook | null>;
  getByApplication(applicationId: string): Promise<AppHook | null>;
  /** Replaces the secret; throws NOT_FOUND for an unknown hook. */
  rotate(id: string, secretEnc: string): Promise<AppHook>;
  /** Counts one refused request (atomic increment). */
  recordAuthFailure(id: string, reason: string): Promise<void>;
  /**
   * Records a delivery as 'processing' and sets the hook's lastDeliveryAt. With a deliveryKey already recorded:
   * resolves to `{ duplicate }` (the earlier delivery) and records nothing — unless that one ended in 'error' or was
   * abandoned while 'processing' (a crash), which is taken over (back to 'processing') so a redelivery retries it.
   */
  startDelivery(input: Pick<HookDelivery, 'hookId' | 'applicationId' | 'provider' | 'event' | 'deliveryKey' | 'branch' | 'commit'>): Promise<{ delivery: HookDelivery; duplicate: false } | { delivery: HookDelivery; duplicate: true }>;
  finishDelivery(id: string, outcome: HookDeliveryOutcome): Promise<HookDelivery | null>;
  /** Newest first. */
  listDeliveries(hookId: string, limit: number): Promise<HookDelivery[]>;
  /** Deletes deliveries created before `before`; resolves to how many. */
  pruneDeliveries(before: string): Promise<number>;
}

/** The poller's memory of one service (shared by every node through the store). */
export interface PollState { serviceId: string; lastCommit: string | null; lastPolledAt: string; lastError: string | null }

export interface PollsRepo {
  get(serviceId: string): Promise<PollState | null>;
  /**
   * Takes the service's turn when it is due (never polled, or last polled at or before `dueBefore`): sets
   * lastPolledAt to `now` and resolves to the state, or to null when the turn is not due or another node took it.
   */
  claim(serviceId: string, dueBefore: string, now: string): Promise<PollState | null>;
  /** Records the outcome of a poll (fields present are written). */
  record(serviceId: string, outcome: { lastCommit?: string; lastError: string | null }): Promise<void>;
}

/** The events a notification endpoint can subscribe to. */
export const NOTIFICATION_EVENTS = [
  'build.queued', 'build.started', 'build.succeeded', 'build.failed', 'deployment.succeeded', 'deployment.failed',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** Where an account's notifications go. The signing secret is encrypted by the caller. */
export interface NotificationEndpoint {
  id: string; accountId: string; url: string;
  events: NotificationEvent[];
  secretEnc: string;
  description: string | null;
  createdBy: string;
  createdAt: string;
}

/** One try to deliver a notification. */
export interface NotificationAttempt {
  n: number; startedAt: string; durationMs: number;
  /** HTTP status of the receiver's answer; null when there was none (connection refused, timeout). */
  statusCode: number | null;
  error: string | null;
  /** The headers of the receiver's answer (lower-case names, at most ~2 KiB); null when there was none. Never its body. */
  headers: Record<string, string> | null;
}

/** pending: waiting for its first or next attempt; succeeded: a 2xx answer; failed: attempts used up. */
export type NotificationStatus = 'pending' | 'succeeded' | 'failed';

/** One notification to one endpoint, with its attempts. */
export interface NotificationDelivery {
  id: string; endpointId: string; accountId: string;
  event: string;
  /** The timeline event it reports, when any. */
  eventSeq: number | null;
  /** The exact JSON body sent (and signed). */
  payload: string;
  status: NotificationStatus;
  attemptCount: number; maxAttempts: number;
  /** When the next attempt is due (pending only; while an attempt runs, the end of its lease). */
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  /** The delivery this one repeats (a redelivery), or null. */
  redeliveryOf: string | null;
  createdAt: string; completedAt: string | null;
  attempts: NotificationAttempt[];
}

export interface NotificationsRepo {
  createEndpoint(input: Omit<NotificationEndpoint, 'createdAt'>): Promise<NotificationEndpoint>;
  getEndpoint(id: string): Promise<NotificationEndpoint | null>;
  /** Oldest first. */
  listEndpoints(accountId: string): Promise<NotificationEndpoint[]>;
  /** Deletes the endpoint and its deliveries; does nothing for an unknown id. */
  deleteEndpoint(id: string): Promise<void>;
  /** Queues a delivery, due at once. Throws NOT_FOUND when the endpoint is gone. */
  enqueue(input: Pick<NotificationDelivery, 'endpointId' | 'accountId' | 'event' | 'eventSeq' | 'payload' | 'maxAttempts' | 'redeliveryOf'>): Promise<NotificationDelivery>;
  getDelivery(id: string): Promise<NotificationDelivery | null>;
  /** Newest first, with attempts; `endpointId` narrows to one endpoint. */
  listDeliveries(filter: { accountId: string; endpointId?: string; limit: number }): Promise<NotificationDelivery[]>;
  /**
   * Takes up to `limit` pending deliveries due at `now` (oldest due first), leasing each until `leaseUntil` so no
   * other worker takes it meanwhile; a worker that dies leaves the lease to expire and the delivery is taken again.
   */
  claimDue(now: string, leaseUntil: string, limit: number): Promise<NotificationDelivery[]>;
  /**
   * Records an attempt and the delivery's new state: succeeded/failed (final) or pending with `nextAttemptAt`.
   * Resolves to null when the delivery no longer exists.
   */
  recordAttempt(id: string, attempt: Omit<NotificationAttempt, 'n'>, next: { status: NotificationStatus; nextAttemptAt: string | null }): Promise<NotificationDelivery | null>;
  /** The earliest nextAttemptAt of pending deliveries, or null. */
  nextDueAt(): Promise<string | null>;
  /** Deletes finished deliveries completed before `before`; resolves to how many. */
  pruneDeliveries(before: string): Promise<number>;
}
