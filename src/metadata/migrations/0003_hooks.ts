import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Triggers and notifications: each application's redeploy hook and the log of what it received, the poller's state
 * per service, per-account notification endpoints, their delivery queue and attempts. Schema builder only, so
 * PostgreSQL runs the same migration; status values are spelled out (an applied migration never changes).
 *
 * Queries and the index that serves each:
 *   hooks.getByApplication            app_hooks_application_unique
 *   hooks.startDelivery (duplicate)   hook_deliveries_key_unique (hook_id, delivery_key)
 *   hooks.listDeliveries              hook_deliveries_hook (hook_id, created_at, id)
 *   hooks.pruneDeliveries             hook_deliveries_created (created_at)
 *   notifications.listEndpoints       notification_endpoints_account (account_id, created_at, id)
 *   notifications.claimDue/nextDueAt  notification_deliveries_due (next_attempt_at, id), partial: pending rows only
 *   notifications.listDeliveries      notification_deliveries_endpoint / notification_deliveries_account
 *   notifications.pruneDeliveries     notification_deliveries_completed (completed_at), partial: finished rows only
 *
 * Deletes cascade: applications → app_hooks → hook_deliveries; services → service_polls; accounts →
 * notification_endpoints → notification_deliveries → notification_attempts. A delivery's deployment and the
 * delivery a redelivery repeats are set to NULL when those rows go.
 */
export const m0003_hooks: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('app_hooks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('secret_enc', 'text', (c) => c.notNull())
      .addColumn('failed_auth_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_failed_auth_at', 'text')
      .addColumn('last_failed_auth_reason', 'text')
      .addColumn('last_delivery_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('rotated_at', 'text')
      .addUniqueConstraint('app_hooks_application_unique', ['application_id'])
      .execute();

    await db.schema
      .createTable('hook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('hook_id', 'text', (c) => c.notNull().references('app_hooks.id').onDelete('cascade'))
      .addColumn('application_id', 'text', (c) => c.notNull())
      .addColumn('provider', 'text', (c) => c.notNull())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('delivery_key', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('branch', 'text')
      .addColumn('commit', 'text')
      .addColumn('deployment_id', 'text', (c) => c.references('deployments.id').onDelete('set null'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('hook_deliveries_key_unique', ['hook_id', 'delivery_key'])
      .addCheckConstraint('hook_deliveries_status_check', sql`${sql.ref('status')} in ('processing', 'accepted', 'skipped', 'ignored', 'error')`)
      .execute();
    await db.schema.createIndex('hook_deliveries_hook').on('hook_deliveries').columns(['hook_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('hook_deliveries_created').on('hook_deliveries').column('created_at').execute();
    await db.schema.createIndex('hook_deliveries_deployment').on('hook_deliveries').column('deployment_id').execute();

    await db.schema
      .createTable('service_polls')
      .addColumn('service_id', 'text', (c) => c.primaryKey().references('services.id').onDelete('cascade'))
      .addColumn('last_commit', 'text')
      .addColumn('last_polled_at', 'text', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .execute();

    await db.schema
      .createTable('notification_endpoints')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('events', 'text', (c) => c.notNull())
      .addColumn('secret_enc', 'text', (c) => c.notNull())
      .addColumn('description', 'text')
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('notification_endpoints_account').on('notification_endpoints').columns(['account_id', 'created_at', 'id']).execute();

    await db.schema
      .createTable('notification_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('endpoint_id', 'text', (c) => c.notNull().references('notification_endpoints.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('event_seq', 'bigint')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempt_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'text')
      .addColumn('last_status_code', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('redelivery_of', 'text', (c) => c.references('notification_deliveries.id').onDelete('set null'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('completed_at', 'text')
      .addCheckConstraint('notification_deliveries_status_check', sql`${sql.ref('status')} in ('pending', 'succeeded', 'failed')`)
      .execute();
    await db.schema
      .createIndex('notification_deliveries_due')
      .on('notification_deliveries')
      .columns(['next_attempt_at', 'id'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();
    await db.schema.createIndex('notification_deliveries_endpoint').on('notification_deliveries').columns(['endpoint_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('notification_deliveries_account').on('notification_deliveries').columns(['account_id', 'created_at', 'id']).execute();
    await db.schema
      .createIndex('notification_deliveries_completed')
      .on('notification_deliveries')
      .column('completed_at')
      .where(sql.ref('completed_at'), 'is not', null)
      .execute();
    await db.schema
      .createIndex('notification_deliveries_redelivery_of')
      .on('notification_deliveries')
      .column('redelivery_of')
      .where(sql.ref('redelivery_of'), 'is not', null)
      .execute();

    await db.schema
      .createTable('notification_attempts')
      .addColumn('delivery_id', 'text', (c) => c.notNull().references('notification_deliveries.id').onDelete('cascade'))
      .addColumn('n', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('error', 'text')
      .addColumn('response', 'text')
      .addPrimaryKeyConstraint('notification_attempts_pk', ['delivery_id', 'n'])
      .execute();
  },
};
