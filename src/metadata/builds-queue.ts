import type { Kysely, Updateable } from 'kysely';
import { nowIso, toJson, toStoredTime } from './codec.ts';
import { RUNNING, closePhases, openPhase, phasesOf, toBuild } from './builds-rows.ts';
import { AppError } from '../core/errors.ts';
import { pickFair, queuePlace } from './builds-fair.ts';
import { hasRowLocks } from './locking.ts';
import type { BuildsTable, Database } from './schema.ts';
import type { Build, BuildsRepo } from './types.ts';

/**
 * The builds table as a job queue: claim, reclaimStale and queuePlace (the rest of BuildsRepo is in builds.ts).
 *
 * Why a transaction with a read, not one `UPDATE … WHERE id = (SELECT …) RETURNING *`: claiming must also append a
 * phase to the JSON `phases` column, and editing JSON inside SQL differs between SQLite (json_insert) and
 * PostgreSQL (jsonb ||); computing it in TypeScript keeps one query layer for both. The read and the write must
 * then be atomic together:
 * - SQLite: the transaction begins with BEGIN IMMEDIATE (sqlite-dialect.ts), taking the database's single write
 *   lock before the SELECT, so no other claim (in this process or another) runs until we commit. Claims are
 *   serialized. Measured on a file database in WAL mode with 5,000 queued builds: a claim holds the lock ~0.3 ms
 *   (mostly the commit), a poll of an empty queue ~0.05-0.1 ms, so a hundred workers polling once a second keep
 *   the write lock busy ~1% of the time; contention is not what limits a single-node queue.
 * - PostgreSQL: the same transaction under READ COMMITTED would let two workers read the same oldest row, so the
 *   SELECT takes `FOR UPDATE SKIP LOCKED` (as graphile-worker's getJobs does): the row is locked until commit and
 *   concurrent claimers skip it and take the next one instead of queueing behind it. Without SKIP LOCKED, N workers
 *   polling at once would all wait on the same row and then find it taken, serializing them exactly like SQLite.
 * The UPDATE repeats `status = 'queued'` anyway, so a backend whose lock were somehow missing fails safe (the
 * claim returns null and the worker polls again) rather than handing one build to two workers.
 */
export function buildsQueue(db: Kysely<Database>): Pick<BuildsRepo, 'claim' | 'reclaimStale' | 'queuePlace'> {
  const rowLocks = hasRowLocks(db);
  return {
    async claim(workerId, fair) {
      const maxPerAccount = fair?.maxPerAccount ?? null;
      if (maxPerAccount !== null && (!Number.isInteger(maxPerAccount) || maxPerAccount < 1)) {
        throw new AppError('INVALID', `maxPerAccount must be a positive integer or null (first come, first served), got ${maxPerAccount}`);
      }
      return db.transaction().execute(async (trx): Promise<Build | null> => {
        // Fair queueing picks the account first (builds-fair.ts, same locking ideas); FIFO takes the oldest row.
        const next = maxPerAccount !== null ? await pickFair(trx, maxPerAccount) : await trx
          .selectFrom('builds')
          .selectAll()
          .where('status', '=', 'queued')
          .orderBy('created_at')
          .orderBy('id')
          .limit(1)
          .$if(rowLocks, (q) => q.forUpdate().skipLocked()) // PostgreSQL; see above
          .executeTakeFirst();
        if (!next) return null;
        const now = nowIso();
        const claimed = await trx
          .updateTable('builds')
          .set({
            status: 'fetching',
            worker_id: workerId,
            heartbeat_at: now,
            attempt: Number(next.attempt) + 1,
            started_at: next.started_at ?? now,
            phases: toJson(openPhase(phasesOf(next), 'fetching', now)) ?? '[]',
          })
          .where('id', '=', next.id)
          .where('status', '=', 'queued')
          .returningAll()
          .executeTakeFirst();
        return claimed ? toBuild(claimed) : null;
      });
    },

    queuePlace: (id) => queuePlace(db, id),

    /**
     * A build is stale when its worker stopped heartbeating (crashed, lost its network, or its event loop stalled).
     * Each stale build is, in this order of precedence:
     * - cancelled, when cancellation was requested (requeuing it would only make the next worker cancel it);
     * - requeued, when attempt < maxAttempts: status 'queued', workerId and heartbeatAt cleared, the open phase
     *   closed and a 'queued' phase opened. The old worker's guarded updates now match nothing and resolve to null,
     *   so it cannot overwrite the retry (worker ids must be unique per worker process for this to hold);
     * - failed with `error`, finishedAt now and the open phase closed.
     * A running build with no heartbeat at all (only possible after an unguarded update cleared it) counts as stale.
     * On PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`, so two schedulers reclaiming at once split the
     * rows instead of both rewriting them, and a row a worker is updating right now is left for the next round.
     */
    async reclaimStale(staleBefore, error) {
      const cutoff = toStoredTime(staleBefore, 'staleBefore') as string;
      return db.transaction().execute(async (trx) => {
        const stale = await trx
          .selectFrom('builds')
          .selectAll()
          .where('status', 'in', RUNNING)
          .where((eb) => eb.or([eb('heartbeat_at', '<', cutoff), eb('heartbeat_at', 'is', null)]))
          .orderBy('created_at')
          .orderBy('id')
          .$if(rowLocks, (q) => q.forUpdate().skipLocked())
          .execute();
        const changed: Build[] = [];
        for (const row of stale) {
          const now = nowIso();
          const phases = phasesOf(row);
          let set: Updateable<BuildsTable>;
          if (Number(row.cancel_requested) === 1) {
            set = { status: 'cancelled', finished_at: now, phases: toJson(closePhases(phases, now)) ?? '[]' };
          } else if (Number(row.attempt) < Number(row.max_attempts)) {
            set = { status: 'queued', worker_id: null, heartbeat_at: null, phases: toJson(openPhase(phases, 'queued', now)) ?? '[]' };
          } else {
            set = { status: 'failed', error, finished_at: now, phases: toJson(closePhases(phases, now)) ?? '[]' };
          }
          const updated = await trx
            .updateTable('builds')
            .set(set)
            .where('id', '=', row.id)
            .where('status', 'in', RUNNING)
            .returningAll()
            .executeTakeFirst();
          if (updated) changed.push(toBuild(updated));
        }
        return changed;
      });
    },
  };
}
