import { sql, type Kysely, type Selectable } from 'kysely';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { chunks, fromJson, nowIso, pageLimit, toJson } from './codec.ts';
import { blobGcRepo } from './lifecycle-gc.ts';
import { lockKeys } from './locking.ts';
import { inventoryRepo } from './lifecycle-inventory.ts';
import { trashRepo } from './lifecycle-trash.ts';
import type {
  LifecycleRepos, LifecycleRun, PoliciesRepo, PullsRepo, RetentionPolicy, RunKind, RunStatus, RunsRepo,
} from './lifecycle-types.ts';
import type { Database, LifecycleRunsTable, RetentionPoliciesTable } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';

/** The lifecycle repositories over one Kysely database (see lifecycle-types.ts for the contracts). */
export function lifecycleRepos(db: Kysely<Database>): LifecycleRepos {
  return {
    policies: policiesRepo(db),
    trash: trashRepo(db),
    pulls: pullsRepo(db),
    gc: blobGcRepo(db),
    inventory: inventoryRepo(db),
    runs: runsRepo(db),
  };
}

/** Retention policies; the account default is stored with application_id ''. */
function policiesRepo(db: Kysely<Database>): PoliciesRepo {
  const key = (applicationId: string | null) => applicationId ?? '';
  return {
    async get(accountId, applicationId) {
      const row = await db.selectFrom('retention_policies').selectAll()
        .where('account_id', '=', accountId).where('application_id', '=', key(applicationId)).executeTakeFirst();
      return row ? toPolicy(row) : null;
    },
    async set(p) {
      const row: Selectable<RetentionPoliciesTable> = {
        account_id: p.accountId, application_id: key(p.applicationId),
        keep_last_per_branch: p.keepLastPerBranch, keep_newer_than_days: p.keepNewerThanDays,
        keep_pulled_within_days: p.keepPulledWithinDays, grace_days: p.graceDays, enabled: p.enabled ? 1 : 0,
        updated_at: nowIso(), updated_by: p.updatedBy,
      };
      const { account_id: _a, application_id: _b, ...changes } = row;
      try {
        await db.insertInto('retention_policies').values(row)
          .onConflict((oc) => oc.columns(['account_id', 'application_id']).doUpdateSet(changes)).execute();
      } catch (err) {
        rethrowViolation(err, { missing: ['NOT_FOUND', `account ${p.accountId} does not exist`] });
      }
      return toPolicy(row);
    },
    async delete(accountId, applicationId) {
      const r = await db.deleteFrom('retention_policies')
        .where('account_id', '=', accountId).where('application_id', '=', key(applicationId)).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async list(accountId) {
      let q = db.selectFrom('retention_policies').selectAll().orderBy('account_id').orderBy('application_id');
      if (accountId !== undefined) q = q.where('account_id', '=', accountId);
      return (await q.execute()).map(toPolicy);
    },
  };
}

function toPolicy(r: Selectable<RetentionPoliciesTable>): RetentionPolicy {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    accountId: r.account_id, applicationId: r.application_id === '' ? null : r.application_id,
    keepLastPerBranch: num(r.keep_last_per_branch), keepNewerThanDays: num(r.keep_newer_than_days),
    keepPulledWithinDays: Number(r.keep_pulled_within_days), graceDays: Number(r.grace_days),
    enabled: Number(r.enabled) === 1, updatedAt: r.updated_at, updatedBy: r.updated_by,
  };
}

/**
 * Last-pulled times. record is called by the registry's pull recorder every few seconds with a batch (never per
 * request); one multi-row upsert per chunk keeps the later of the stored and the new time. A pull of a repository
 * deleted meanwhile breaks the foreign key: the chunk is retried row by row and such rows are dropped.
 */
function pullsRepo(db: Kysely<Database>): PullsRepo {
  const upsert = (rows: Array<{ repo_id: string; digest: `sha256:${string}` | `sha512:${string}`; pulled_at: string }>) =>
    db.insertInto('image_pulls').values(rows).onConflict((oc) => oc.columns(['repo_id', 'digest']).doUpdateSet({
      pulled_at: sql<string>`case when excluded.pulled_at > image_pulls.pulled_at then excluded.pulled_at else image_pulls.pulled_at end`,
    })).execute();
  return {
    async record(pulls) {
      const latest = new Map<string, { repo_id: string; digest: typeof pulls[number]['digest']; pulled_at: string }>();
      for (const p of pulls) {
        const k = `${p.repositoryId} ${p.digest}`;
        const prev = latest.get(k);
        if (!prev || prev.pulled_at < p.at) latest.set(k, { repo_id: p.repositoryId, digest: p.digest, pulled_at: p.at });
      }
      for (const part of chunks([...latest.values()], 200)) {
        try {
          await upsert(part);
        } catch {
          for (const row of part) await upsert([row]).catch(() => undefined);
        }
      }
    },
    async lastPulled(repositoryIds) {
      const out: Array<{ repositoryId: string; digest: `sha256:${string}` | `sha512:${string}`; pulledAt: string }> = [];
      for (const part of chunks(repositoryIds)) {
        if (part.length === 0) continue;
        const rows = await db.selectFrom('image_pulls').selectAll().where('repo_id', 'in', part).execute();
        for (const r of rows) out.push({ repositoryId: r.repo_id, digest: r.digest, pulledAt: r.pulled_at });
      }
      return out;
    },
  };
}

/**
 * Lifecycle runs, also the lease that keeps two runs (on one node or several) from overlapping: start is one
 * write transaction that fails a stale running row (its process died: kill -9, power loss) and refuses while a live
 * one remains, so the check and the insert cannot interleave with another node's.
 */
function runsRepo(db: Kysely<Database>): RunsRepo {
  const select = () => db.selectFrom('lifecycle_runs').select(RUN_COLUMNS);
  return {
    async start(input, staleBefore) {
      return db.transaction().execute(async (trx) => {
        await lockKeys(trx, ['lifecycle-run-lease']); // PostgreSQL: nodes starting runs at once take turns
        const now = nowIso();
        await interruptIn(trx, staleBefore);
        const live = await trx.selectFrom('lifecycle_runs').select(['id', 'kind', 'started_at']).where('status', '=', 'running').executeTakeFirst();
        if (live) {
          throw new AppError('CONFLICT', `a ${live.kind} run (${live.id}, started ${live.started_at}) is in progress; wait for it to finish`);
        }
        const row: Selectable<LifecycleRunsTable> = {
          id: randomId(), kind: input.kind, status: 'running', trigger: input.trigger, requested_by: input.requestedBy,
          dry_run: input.dryRun ? 1 : 0, options: toJson(input.options) ?? '{}', started_at: now, heartbeat_at: now,
          finished_at: null, summary: null, report: null, error: null,
        };
        await trx.insertInto('lifecycle_runs').values(row).execute();
        return toRun(row);
      });
    },
    async interrupt(before) {
      return interruptIn(db, before);
    },
    async heartbeat(id) {
      await db.updateTable('lifecycle_runs').set({ heartbeat_at: nowIso() }).where('id', '=', id).where('status', '=', 'running').execute();
    },
    async finish(id, r) {
      const row = await db.updateTable('lifecycle_runs')
        .set({ status: r.status, finished_at: nowIso(), summary: toJson(r.summary), report: toJson(r.report), error: r.error })
        .where('id', '=', id).where('status', '=', 'running').returning(RUN_COLUMNS).executeTakeFirst();
      return row ? toRun(row) : null;
    },
    async get(id) {
      const row = await select().where('id', '=', id).executeTakeFirst();
      return row ? toRun(row) : null;
    },
    async report(id) {
      const row = await db.selectFrom('lifecycle_runs').select('report').where('id', '=', id).executeTakeFirst();
      return row ? fromJson<unknown>(row.report) : null;
    },
    async list({ kind, limit }) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      let q = select().orderBy('started_at', 'desc').orderBy('id', 'desc').limit(n);
      if (kind !== undefined) q = q.where('kind', '=', kind);
      return (await q.execute()).map(toRun);
    },
  };
}

async function interruptIn(q: Kysely<Database>, before: string): Promise<number> {
  const r = await q.updateTable('lifecycle_runs')
    .set({ status: 'failed', finished_at: nowIso(), error: 'interrupted: the process running it stopped (crash or restart)' })
    .where('status', '=', 'running').where('heartbeat_at', '<', before).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Every column but the (possibly large) report. */
const RUN_COLUMNS = [
  'id', 'kind', 'status', 'trigger', 'requested_by', 'dry_run', 'options', 'started_at', 'heartbeat_at', 'finished_at', 'summary', 'error',
] as const;

function toRun(r: Omit<Selectable<LifecycleRunsTable>, 'report'>): LifecycleRun {
  return {
    id: r.id, kind: r.kind as RunKind, status: r.status as RunStatus, trigger: r.trigger, requestedBy: r.requested_by,
    dryRun: Number(r.dry_run) === 1, options: fromJson<Record<string, unknown>>(r.options) ?? {},
    startedAt: r.started_at, heartbeatAt: r.heartbeat_at, finishedAt: r.finished_at,
    summary: fromJson<Record<string, unknown>>(r.summary), error: r.error,
  };
}
