import type { Kysely, Selectable } from 'kysely';
import { randomId } from '../core/ids.ts';
import { fromJson, nowIso, pageLimit, toJson } from './codec.ts';
import type { Database, DeploymentsTable } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { Deployment, DeploymentItem, DeploymentStatus, DeploymentsRepo, Trigger } from './types.ts';

/**
 * Deployments over Kysely. create starts a deployment 'running' and throws AppError NOT_FOUND when the application
 * or account does not exist. setItems replaces the items whatever the status and does nothing for an unknown id
 * (e.g. a deployment deleted with its application). list is newest first (created_at, then id, descending);
 * `before` pages from that deployment's position, exclusive, and an unknown `before` yields an empty page.
 * finish is a single conditional UPDATE, so of two concurrent finishes exactly one wins; the other resolves to null.
 */
export function deploymentsRepo(db: Kysely<Database>): DeploymentsRepo {
  const select = () => db.selectFrom('deployments').selectAll();
  return {
    async create(input) {
      const row: Selectable<DeploymentsTable> = {
        id: randomId(),
        application_id: input.applicationId,
        account_id: input.accountId,
        branch: input.branch,
        status: 'running',
        trigger: input.trigger,
        triggered_by: input.triggeredBy,
        items: toJson(input.items) ?? '[]',
        error: null,
        created_at: nowIso(),
        finished_at: null,
      };
      try {
        await db.insertInto('deployments').values(row).execute();
      } catch (err) {
        rethrowViolation(err, { missing: ['NOT_FOUND', `application ${input.applicationId} or its account does not exist`] });
      }
      return toDeployment(row);
    },
    async setItems(id, items) {
      await db.updateTable('deployments').set({ items: toJson(items) ?? '[]' }).where('id', '=', id).execute();
    },
    async get(id) {
      const row = await select().where('id', '=', id).executeTakeFirst();
      return row ? toDeployment(row) : null;
    },
    async list(applicationId, { limit, before }) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      let q = select().where('application_id', '=', applicationId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(n);
      if (before !== undefined) {
        const c = await db.selectFrom('deployments').select(['created_at', 'id']).where('id', '=', before).executeTakeFirst();
        if (!c) return [];
        q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(c.created_at, c.id)));
      }
      return (await q.execute()).map(toDeployment);
    },
    async finish(id, status, error) {
      const row = await db
        .updateTable('deployments')
        .set({ status, error, finished_at: nowIso() })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .returningAll()
        .executeTakeFirst();
      return row ? toDeployment(row) : null;
    },
    async listRunning() {
      const rows = await select().where('status', '=', 'running').orderBy('created_at').orderBy('id').execute();
      return rows.map(toDeployment);
    },
  };
}

/** Maps a deployments row to the domain type. */
export function toDeployment(r: Selectable<DeploymentsTable>): Deployment {
  return {
    id: r.id,
    applicationId: r.application_id,
    accountId: r.account_id,
    branch: r.branch,
    status: r.status as DeploymentStatus,
    trigger: r.trigger as Trigger,
    triggeredBy: r.triggered_by,
    items: fromJson<DeploymentItem[]>(r.items) ?? [],
    error: r.error,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}
