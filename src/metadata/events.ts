import type { Kysely, Selectable } from 'kysely';
import { fromJson, nowIso, pageLimit, toJson } from './codec.ts';
import type { Database, EventsTable } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { EventsRepo, StoredEvent } from './types.ts';

/**
 * The event log over Kysely: an append-only table whose `seq` the database assigns, so live streams resume with
 * "after seq N". append throws AppError NOT_FOUND when the account does not exist (the application id is not
 * checked: the timeline outlives a deleted application). Payloads are stored as JSON; `undefined` reads back as null.
 *
 * Ordering: on SQLite, writes are serialized, so seq order is commit order and a reader that saw seq N never
 * later finds a new event below N. PostgreSQL hands out bigserial values at insert time but makes rows visible at
 * commit, so two concurrent appends can commit out of order and a reader could skip the lower one. The PostgreSQL
 * backend closes that gap by running each append in a transaction that first takes `pg_advisory_xact_lock`
 * (postgres.ts, serializedAppend; postgres.test.ts checks it with an append made to commit late).
 */
export function eventsRepo(db: Kysely<Database>): EventsRepo {
  return {
    async append({ accountId, applicationId, kind, payload }) {
      const row = { account_id: accountId, application_id: applicationId, kind, payload: toJson(payload) ?? 'null', created_at: nowIso() };
      let seq: number;
      try {
        ({ seq } = await db.insertInto('events').values(row).returning('seq').executeTakeFirstOrThrow());
      } catch (err) {
        rethrowViolation(err, { missing: ['NOT_FOUND', `account ${accountId} does not exist`] });
      }
      return toEvent({ ...row, seq });
    },
    async list({ afterSeq, applicationId, accountId, limit }) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      let q = db.selectFrom('events').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(n);
      if (applicationId !== undefined) q = q.where('application_id', '=', applicationId);
      if (accountId !== undefined) q = q.where('account_id', '=', accountId);
      return (await q.execute()).map(toEvent);
    },
    async lastSeq() {
      const row = await db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
      return Number(row?.seq ?? 0);
    },
  };
}

/** Maps an events row to the domain type (PostgreSQL returns bigserial values as strings). */
export function toEvent(r: Selectable<EventsTable>): StoredEvent {
  return {
    seq: Number(r.seq),
    accountId: r.account_id,
    applicationId: r.application_id,
    kind: r.kind,
    payload: fromJson<unknown>(r.payload),
    createdAt: r.created_at,
  };
}
