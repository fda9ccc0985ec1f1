import { sql, type Kysely, type Selectable } from 'kysely';
import { randomId } from '../core/ids.ts';
import { fromJson, nowIso, pageLimit, toJson } from './codec.ts';
import type { Database, NotificationAttemptsTable, NotificationDeliveriesTable, NotificationEndpointsTable } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type {
  NotificationAttempt, NotificationDelivery, NotificationEndpoint, NotificationEvent, NotificationStatus, NotificationsRepo,
} from './types.ts';

/** 'pending' as a literal, not a bound parameter: SQLite uses the partial index notification_deliveries_due only then. */
const PENDING = sql.lit('pending');

/**
 * Notification endpoints and their delivery queue over Kysely. The queue works like the build queue: a pending
 * delivery is due at next_attempt_at; claimDue takes it by moving next_attempt_at to the end of a lease with one
 * conditional UPDATE (no row locks needed, so SQLite and PostgreSQL share the code), and an attempt that never
 * reports back (the process died) is simply due again when the lease ends. A restart therefore resumes retries.
 */
export function notificationsRepo(db: Kysely<Database>): NotificationsRepo {
  const endpoints = () => db.selectFrom('notification_endpoints').selectAll();
  const deliveries = () => db.selectFrom('notification_deliveries').selectAll();

  /** Attaches attempts (in order) to delivery rows. */
  async function withAttempts(rows: Selectable<NotificationDeliveriesTable>[]): Promise<NotificationDelivery[]> {
    if (rows.length === 0) return [];
    const attempts = await db.selectFrom('notification_attempts').selectAll()
      .where('delivery_id', 'in', rows.map((r) => r.id)).orderBy('delivery_id').orderBy('n').execute();
    const by = new Map<string, NotificationAttempt[]>();
    for (const a of attempts) {
      const list = by.get(a.delivery_id) ?? [];
      list.push(toAttempt(a));
      by.set(a.delivery_id, list);
    }
    return rows.map((r) => toDelivery(r, by.get(r.id) ?? []));
  }

  const getDelivery = async (id: string) => {
    const row = await deliveries().where('id', '=', id).executeTakeFirst();
    return row ? (await withAttempts([row]))[0]! : null;
  };

  return {
    async createEndpoint(input) {
      const row: Selectable<NotificationEndpointsTable> = {
        id: input.id, account_id: input.accountId, url: input.url, events: toJson(input.events) ?? '[]', secret_enc: input.secretEnc,
        description: input.description, created_by: input.createdBy, created_at: nowIso(),
      };
      try {
        await db.insertInto('notification_endpoints').values(row).execute();
      } catch (err) {
        rethrowViolation(err, { unique: () => `notification endpoint ${input.id} exists`, missing: ['NOT_FOUND', `account ${input.accountId} does not exist`] });
      }
      return toEndpoint(row);
    },
    async getEndpoint(id) {
      const row = await endpoints().where('id', '=', id).executeTakeFirst();
      return row ? toEndpoint(row) : null;
    },
    async listEndpoints(accountId) {
      const rows = await endpoints().where('account_id', '=', accountId).orderBy('created_at').orderBy('id').execute();
      return rows.map(toEndpoint);
    },
    async deleteEndpoint(id) {
      await db.deleteFrom('notification_endpoints').where('id', '=', id).execute();
    },
    async enqueue(input) {
      const now = nowIso();
      const row: Selectable<NotificationDeliveriesTable> = {
        id: randomId(), endpoint_id: input.endpointId, account_id: input.accountId, event: input.event, event_seq: input.eventSeq,
        payload: input.payload, status: 'pending', attempt_count: 0, max_attempts: input.maxAttempts, next_attempt_at: now,
        last_status_code: null, last_error: null, redelivery_of: input.redeliveryOf, created_at: now, completed_at: null,
      };
      try {
        await db.insertInto('notification_deliveries').values(row).execute();
      } catch (err) {
        rethrowViolation(err, { missing: ['NOT_FOUND', `notification endpoint ${input.endpointId} does not exist`] });
      }
      return toDelivery(row, []);
    },
    getDelivery,
    async listDeliveries({ accountId, endpointId, limit }) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      let q = deliveries().where('account_id', '=', accountId);
      if (endpointId !== undefined) q = q.where('endpoint_id', '=', endpointId);
      return withAttempts(await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(n).execute());
    },
    async claimDue(now, leaseUntil, limit) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      const due = await db.selectFrom('notification_deliveries').select(['id', 'next_attempt_at'])
        .where('status', '=', PENDING).where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at').orderBy('id').limit(n).execute();
      const taken: Selectable<NotificationDeliveriesTable>[] = [];
      for (const d of due) {
        const row = await db.updateTable('notification_deliveries').set({ next_attempt_at: leaseUntil })
          .where('id', '=', d.id).where('status', '=', 'pending').where('next_attempt_at', '=', d.next_attempt_at)
          .returningAll().executeTakeFirst();
        if (row) taken.push(row);
      }
      return withAttempts(taken);
    },
    async recordAttempt(id, attempt, next) {
      const current = await db.selectFrom('notification_deliveries').select('attempt_count').where('id', '=', id).executeTakeFirst();
      if (!current) return null;
      const n = Number(current.attempt_count) + 1;
      try {
        await db.insertInto('notification_attempts').values({
          delivery_id: id, n, started_at: attempt.startedAt, duration_ms: Math.round(attempt.durationMs),
          status_code: attempt.statusCode, error: attempt.error?.slice(0, 1000) ?? null, response: headersToColumn(attempt.headers),
        }).execute();
      } catch (err) {
        rethrowViolation(err, { unique: () => `attempt ${n} of delivery ${id} was recorded twice`, missing: ['NOT_FOUND', `delivery ${id} does not exist`] });
      }
      const final = next.status !== 'pending';
      await db.updateTable('notification_deliveries').set({
        attempt_count: n, status: next.status, next_attempt_at: final ? null : next.nextAttemptAt,
        last_status_code: attempt.statusCode, last_error: attempt.error?.slice(0, 1000) ?? null, completed_at: final ? nowIso() : null,
      }).where('id', '=', id).execute();
      return getDelivery(id);
    },
    async nextDueAt() {
      const row = await db.selectFrom('notification_deliveries').select('next_attempt_at')
        .where('status', '=', PENDING).orderBy('next_attempt_at').limit(1).executeTakeFirst();
      return row?.next_attempt_at ?? null;
    },
    async pruneDeliveries(before) {
      const r = await db.deleteFrom('notification_deliveries').where('completed_at', 'is not', null).where('completed_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

function toEndpoint(r: Selectable<NotificationEndpointsTable>): NotificationEndpoint {
  return {
    id: r.id, accountId: r.account_id, url: r.url, events: fromJson<NotificationEvent[]>(r.events) ?? [], secretEnc: r.secret_enc,
    description: r.description, createdBy: r.created_by, createdAt: r.created_at,
  };
}

function toAttempt(a: Selectable<NotificationAttemptsTable>): NotificationAttempt {
  return {
    n: Number(a.n), startedAt: a.started_at, durationMs: Number(a.duration_ms),
    statusCode: a.status_code === null ? null : Number(a.status_code), error: a.error, headers: headersFromColumn(a.response),
  };
}

function toDelivery(r: Selectable<NotificationDeliveriesTable>, attempts: NotificationAttempt[]): NotificationDelivery {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: r.id, endpointId: r.endpoint_id, accountId: r.account_id, event: r.event, eventSeq: num(r.event_seq), payload: r.payload,
    status: r.status as NotificationStatus, attemptCount: Number(r.attempt_count), maxAttempts: Number(r.max_attempts),
    nextAttemptAt: r.next_attempt_at, lastStatusCode: num(r.last_status_code), lastError: r.last_error,
    redeliveryOf: r.redelivery_of, createdAt: r.created_at, completedAt: r.completed_at, attempts,
  };
}

/**
 * The `response` column holds the answer's headers as a JSON object. Rows written before it held the start of the
 * answer's body: those read as null, so no stored body is ever shown again.
 */
function headersToColumn(headers: Record<string, string> | null): string | null {
  if (!headers) return null;
  const text = JSON.stringify(headers);
  return text.length <= 4096 ? text : null;
}

function headersFromColumn(text: string | null): Record<string, string> | null {
  if (!text?.startsWith('{')) return null;
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
    return Object.values(v).every((x) => typeof x === 'string') ? v as Record<string, string> : null;
  } catch {
    return null;
  }
}
