import { sql, type Kysely, type Selectable } from 'kysely';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { nowIso, pageLimit, toJson } from './codec.ts';
import { ACTIVE, RUNNING, closePhases, patchColumns, phasesOf, toBuild } from './builds-rows.ts';
import { buildsQueue } from './builds-queue.ts';
import { hasRowLocks } from './locking.ts';
import type { BuildsTable, Database } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { Build, BuildsRepo } from './types.ts';

/** Attempts a build gets when create is not told otherwise: the first run and one retry after a lost worker. */
export const DEFAULT_MAX_ATTEMPTS = 2;

/**
 * Builds over Kysely (the queue operations claim, reclaimStale and queuePlace are in builds-queue.ts).
 * - create: status 'queued', an open 'queued' phase, attempt 0. Throws AppError INVALID for a maxAttempts that is
 *   not a positive integer, NOT_FOUND when the service, application, account, deployment or rebuilt build is missing.
 * - list: newest first (created_at, then id, descending); `before` pages from that build's position, exclusive; an
 *   unknown `before` yields an empty page.
 * - update: one conditional UPDATE, so a guarded update cannot race a reclaim; throws INVALID for an unparsable
 *   timestamp in the patch.
 * - findActive: the oldest matching build; findSucceeded: the newest whose image was not removed (lifecycle trash).
 */
export function buildsRepo(db: Kysely<Database>): BuildsRepo {
  const rowLocks = hasRowLocks(db);
  const select = () => db.selectFrom('builds').selectAll();
  const one = (row: Selectable<BuildsTable> | undefined) => (row ? toBuild(row) : null);

  return {
    ...buildsQueue(db),
    async create(input) {
      const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
        throw new AppError('INVALID', `maxAttempts must be a positive integer, got ${maxAttempts}`);
      }
      const now = nowIso();
      const row: Selectable<BuildsTable> = {
        id: randomId(),
        service_id: input.serviceId,
        application_id: input.applicationId,
        account_id: input.accountId,
        deployment_id: input.deploymentId,
        status: 'queued',
        trigger: input.trigger,
        triggered_by: input.triggeredBy,
        branch: input.branch,
        commit: input.commit,
        commit_message: null,
        commit_author: null,
        repository: input.repository,
        image_digest: null,
        image_id: null,
        image_size: null,
        layer_count: null,
        error: null,
        phases: toJson([{ name: 'queued', startedAt: now, endedAt: null }]) ?? '[]',
        base_images: null,
        attempt: 0,
        max_attempts: maxAttempts,
        worker_id: null,
        heartbeat_at: null,
        cancel_requested: 0,
        force: input.force ? 1 : 0,
        rebuild_of: input.rebuildOf,
        created_at: now,
        started_at: null,
        finished_at: null,
      };
      try {
        await db.insertInto('builds').values(row).execute();
      } catch (err) {
        rethrowViolation(err, {
          missing: ['NOT_FOUND', `the build's service, application, account, deployment or rebuilt build does not exist`],
        });
      }
      return toBuild(row);
    },

    async get(id) {
      return one(await select().where('id', '=', id).executeTakeFirst());
    },

    async list({ applicationId, serviceId, deploymentId, limit, before }) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      let q = select().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(n);
      if (applicationId !== undefined) q = q.where('application_id', '=', applicationId);
      if (serviceId !== undefined) q = q.where('service_id', '=', serviceId);
      if (deploymentId !== undefined) q = q.where('deployment_id', '=', deploymentId);
      if (before !== undefined) {
        const c = await db.selectFrom('builds').select(['created_at', 'id']).where('id', '=', before).executeTakeFirst();
        if (!c) return [];
        q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(c.created_at, c.id)));
      }
      return (await q.execute()).map(toBuild);
    },

    async heartbeat(id, workerId) {
      const row = await db
        .updateTable('builds')
        .set({ heartbeat_at: nowIso() })
        .where('id', '=', id)
        .where('worker_id', '=', workerId)
        .where('status', 'in', RUNNING)
        .returning('cancel_requested')
        .executeTakeFirst();
      return row ? { owned: true, cancelRequested: Number(row.cancel_requested) === 1 } : { owned: false, cancelRequested: false };
    },

    async update(id, patch, workerId) {
      const set = patchColumns(patch);
      const guarded = workerId !== undefined;
      if (Object.keys(set).length === 0) {
        // Nothing to write: still answer whether the (guarded) caller owns the build.
        let q = select().where('id', '=', id);
        if (guarded) q = q.where('worker_id', '=', workerId).where('status', 'in', RUNNING);
        return one(await q.executeTakeFirst());
      }
      let u = db.updateTable('builds').set(set).where('id', '=', id);
      if (guarded) u = u.where('worker_id', '=', workerId).where('status', 'in', RUNNING);
      return one(await u.returningAll().executeTakeFirst());
    },

    async requestCancel(id) {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('builds')
          .selectAll()
          .where('id', '=', id)
          .$if(rowLocks, (q) => q.forUpdate()) // PostgreSQL: hold off a concurrent claim of this queued build
          .executeTakeFirst();
        if (!row) return null;
        if (row.status === 'queued') {
          const now = nowIso();
          const cancelled = await trx
            .updateTable('builds')
            .set({ status: 'cancelled', finished_at: now, phases: toJson(closePhases(phasesOf(row), now)) ?? '[]' })
            .where('id', '=', id)
            .returningAll()
            .executeTakeFirstOrThrow();
          return toBuild(cancelled);
        }
        if (RUNNING.includes(row.status as Build['status']) && Number(row.cancel_requested) !== 1) {
          const flagged = await trx
            .updateTable('builds')
            .set({ cancel_requested: 1 })
            .where('id', '=', id)
            .returningAll()
            .executeTakeFirstOrThrow();
          return toBuild(flagged);
        }
        return toBuild(row); // final, or already flagged: unchanged
      });
    },

    async findSucceeded(serviceId, commit) {
      const row = await select()
        .where('service_id', '=', serviceId)
        .where('commit', '=', commit)
        .where('status', '=', 'succeeded')
        // A build whose image retention (or fsck) removed has nothing to reuse: the deployment builds it again.
        .where(({ not, exists, selectFrom }) => not(exists(selectFrom('image_trash_builds').select('trash_id').whereRef('image_trash_builds.build_id', '=', 'builds.id'))))
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      return one(row);
    },

    async findActive(serviceId, commit, branch) {
      const row = await select()
        .where('service_id', '=', serviceId)
        .where('status', 'in', ACTIVE.map((status) => sql.lit(status))) // literals: see builds_active in 0002_builds.ts
        .where((eb) => {
          const unresolved = eb.and([eb('commit', 'is', null), eb('branch', '=', branch)]);
          return commit === null ? unresolved : eb.or([eb('commit', '=', commit), unresolved]);
        })
        .orderBy('created_at')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      return one(row);
    },
  };
}
