import type { Kysely, Selectable } from 'kysely';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { nowIso, pageLimit } from './codec.ts';
import type { AppHooksTable, Database, HookDeliveriesTable, ServicePollsTable } from './schema.ts';
import { constraintViolation, rethrowViolation } from './sql-errors.ts';
import type { AppHook, AppHooksRepo, HookDelivery, HookDeliveryStatus, HookProvider, PollState, PollsRepo } from './types.ts';

/** A delivery still 'processing' after this long was abandoned (the process died): a redelivery takes it over. */
export const STALE_PROCESSING_MS = 10 * 60_000;

/**
 * Redeploy hooks and their delivery log over Kysely. ensure is an insert that does nothing on conflict followed by
 * a read, so concurrent first calls agree on one hook. startDelivery recognises a delivery seen before by its key;
 * two concurrent requests with one key are told apart by the unique (hook_id, delivery_key) constraint: exactly one
 * inserts, the other reads the winner back as a duplicate.
 */
export function appHooksRepo(db: Kysely<Database>): AppHooksRepo {
  const select = () => db.selectFrom('app_hooks').selectAll();
  const deliveries = () => db.selectFrom('hook_deliveries').selectAll();
  const touch = (hookId: string, at: string) => db.updateTable('app_hooks').set({ last_delivery_at: at }).where('id', '=', hookId).execute();
  const byKey = (hookId: string, key: string) => deliveries().where('hook_id', '=', hookId).where('delivery_key', '=', key).executeTakeFirst();

  return {
    async ensure(input) {
      try {
        await db.insertInto('app_hooks').values({
          id: input.id, application_id: input.applicationId, account_id: input.accountId, secret_enc: input.secretEnc,
          failed_auth_count: 0, last_failed_auth_at: null, last_failed_auth_reason: null, last_delivery_at: null,
          created_at: nowIso(), rotated_at: null,
        }).onConflict((oc) => oc.column('application_id').doNothing()).execute();
      } catch (err) {
        rethrowViolation(err, { missing: ['NOT_FOUND', `application ${input.applicationId} does not exist`] });
      }
      const row = await select().where('application_id', '=', input.applicationId).executeTakeFirst();
      if (!row) throw new AppError('NOT_FOUND', `application ${input.applicationId} does not exist`);
      return toHook(row);
    },
    async get(id) {
      const row = await select().where('id', '=', id).executeTakeFirst();
      return row ? toHook(row) : null;
    },
    async getByApplication(applicationId) {
      const row = await select().where('application_id', '=', applicationId).executeTakeFirst();
      return row ? toHook(row) : null;
    },
    async rotate(id, secretEnc) {
      const row = await db.updateTable('app_hooks').set({ secret_enc: secretEnc, rotated_at: nowIso() }).where('id', '=', id).returningAll().executeTakeFirst();
      if (!row) throw new AppError('NOT_FOUND', `hook ${id} does not exist`);
      return toHook(row);
    },
    async recordAuthFailure(id, reason) {
      await db.updateTable('app_hooks')
        .set((eb) => ({ failed_auth_count: eb('failed_auth_count', '+', 1), last_failed_auth_at: nowIso(), last_failed_auth_reason: reason.slice(0, 500) }))
        .where('id', '=', id)
        .execute();
    },
    async startDelivery(input) {
      const now = nowIso();
      const key = input.deliveryKey?.slice(0, 300) ?? null;
      if (key !== null) {
        const seen = await byKey(input.hookId, key);
        const stale = seen && seen.status === 'processing' && seen.updated_at < new Date(Date.now() - STALE_PROCESSING_MS).toISOString();
        if (seen && (seen.status === 'error' || stale)) {
          const retaken = await db.updateTable('hook_deliveries')
            .set({ status: 'processing', message: 'redelivered; handling it again', branch: input.branch, commit: input.commit, updated_at: now })
            .where('id', '=', seen.id).where('status', '=', seen.status).where('updated_at', '=', seen.updated_at)
            .returningAll().executeTakeFirst();
          if (retaken) {
            await touch(input.hookId, now);
            return { delivery: toDelivery(retaken), duplicate: false };
          }
        }
        if (seen) return { delivery: toDelivery((await byKey(input.hookId, key)) ?? seen), duplicate: true };
      }
      const row: Selectable<HookDeliveriesTable> = {
        id: randomId(), hook_id: input.hookId, application_id: input.applicationId, provider: input.provider, event: input.event.slice(0, 100),
        delivery_key: key, status: 'processing', message: 'being handled', branch: input.branch, commit: input.commit,
        deployment_id: null, created_at: now, updated_at: now,
      };
      try {
        await db.insertInto('hook_deliveries').values(row).execute();
      } catch (err) {
        if (key !== null && constraintViolation(err)?.kind === 'unique') {
          const winner = await byKey(input.hookId, key);
          if (winner) return { delivery: toDelivery(winner), duplicate: true };
        }
        rethrowViolation(err, { missing: ['NOT_FOUND', `hook ${input.hookId} does not exist`] });
      }
      await touch(input.hookId, now);
      return { delivery: toDelivery(row), duplicate: false };
    },
    async finishDelivery(id, outcome) {
      const row = await db.updateTable('hook_deliveries')
        .set({
          status: outcome.status, message: outcome.message.slice(0, 2000), updated_at: nowIso(),
          ...(outcome.branch !== undefined ? { branch: outcome.branch } : {}),
          ...(outcome.commit !== undefined ? { commit: outcome.commit } : {}),
          ...(outcome.deploymentId !== undefined ? { deployment_id: outcome.deploymentId } : {}),
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      return row ? toDelivery(row) : null;
    },
    async listDeliveries(hookId, limit) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      const rows = await deliveries().where('hook_id', '=', hookId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(n).execute();
      return rows.map(toDelivery);
    },
    async pruneDeliveries(before) {
      const r = await db.deleteFrom('hook_deliveries').where('created_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}

/**
 * The poller's per-service state over Kysely. claim creates the row on first use and then takes the turn with one
 * conditional UPDATE, so of several nodes polling at once exactly one polls a due service.
 */
export function pollsRepo(db: Kysely<Database>): PollsRepo {
  const select = () => db.selectFrom('service_polls').selectAll();
  return {
    async get(serviceId) {
      const row = await select().where('service_id', '=', serviceId).executeTakeFirst();
      return row ? toPoll(row) : null;
    },
    async claim(serviceId, dueBefore, now) {
      try {
        await db.insertInto('service_polls').values({ service_id: serviceId, last_commit: null, last_polled_at: '', last_error: null })
          .onConflict((oc) => oc.column('service_id').doNothing()).execute();
      } catch (err) {
        if (constraintViolation(err)?.kind === 'foreign_key') return null; // the service was deleted meanwhile
        throw err;
      }
      const row = await db.updateTable('service_polls').set({ last_polled_at: now })
        .where('service_id', '=', serviceId).where('last_polled_at', '<=', dueBefore)
        .returningAll().executeTakeFirst();
      return row ? toPoll(row) : null;
    },
    async record(serviceId, outcome) {
      await db.updateTable('service_polls')
        .set({ last_error: outcome.lastError?.slice(0, 2000) ?? null, ...(outcome.lastCommit !== undefined ? { last_commit: outcome.lastCommit } : {}) })
        .where('service_id', '=', serviceId)
        .execute();
    },
  };
}

function toHook(r: Selectable<AppHooksTable>): AppHook {
  return {
    id: r.id, applicationId: r.application_id, accountId: r.account_id, secretEnc: r.secret_enc,
    failedAuthCount: Number(r.failed_auth_count), lastFailedAuthAt: r.last_failed_auth_at, lastFailedAuthReason: r.last_failed_auth_reason,
    lastDeliveryAt: r.last_delivery_at, createdAt: r.created_at, rotatedAt: r.rotated_at,
  };
}

function toDelivery(r: Selectable<HookDeliveriesTable>): HookDelivery {
  return {
    id: r.id, hookId: r.hook_id, applicationId: r.application_id, provider: r.provider as HookProvider, event: r.event,
    deliveryKey: r.delivery_key, status: r.status as HookDeliveryStatus, message: r.message, branch: r.branch, commit: r.commit,
    deploymentId: r.deployment_id, createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

function toPoll(r: Selectable<ServicePollsTable>): PollState {
  return { serviceId: r.service_id, lastCommit: r.last_commit, lastPolledAt: r.last_polled_at, lastError: r.last_error };
}
