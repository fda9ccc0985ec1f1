import { sql, type Kysely, type Migration } from 'kysely';
import { addSerialKey } from './dialect.ts';

/**
 * The builds milestone: applications, services, deployments, builds (also the job queue) and the event log.
 * Schema builder only, plus addSerialKey for events.seq, so PostgreSQL runs the same migration. Status and trigger
 * values are spelled out here, not imported: an applied migration must never change when the code's lists do.
 *
 * Queries and the index that serves each:
 *   builds.claim             builds_claim (status, created_at, id): the oldest queued build is the first entry
 *   builds.reclaimStale      builds_claim (status IN the three running statuses), heartbeat filtered per row
 *   builds.findSucceeded     builds_service_commit (service_id, commit, created_at, id): newest first without a
 *                            sort, and an unseen commit (the usual case) costs one index probe, not a history walk
 *   builds.findActive        builds_active (service_id, created_at, id), partial: only queued and running rows (a
 *                            handful at any time), so the lookup never walks a service's build history. SQLite
 *                            uses a partial index only when the query repeats its condition with the same literals,
 *                            so findActive spells the status list as literals, not bound parameters.
 *   builds.list              builds_application_created / builds_service_created / builds_deployment
 *   deployments.list         deployments_application (application_id, created_at, id)
 *   deployments.listRunning  deployments_running, partial: finished deployments are the vast majority
 *   events.list              events_application (application_id, seq) / events_account (account_id, seq) / PK
 *
 * Deletes cascade from accounts → applications → services → builds. A build's deployment and rebuildOf are set to
 * NULL when those rows go. events.application_id has no foreign key: the timeline outlives a deleted application
 * (and its "deleted" event must still be appendable).
 */
export const m0002_builds: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('applications')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('slug', 'text', (c) => c.notNull())
      .addColumn('env', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('applications_account_slug_unique', ['account_id', 'slug'])
      .execute();

    await db.schema
      .createTable('services')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('git_url', 'text', (c) => c.notNull())
      .addColumn('branch', 'text', (c) => c.notNull())
      .addColumn('dockerfile', 'text', (c) => c.notNull())
      .addColumn('context', 'text', (c) => c.notNull())
      .addColumn('build_args', 'text', (c) => c.notNull())
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('git_auth', 'text', (c) => c.notNull())
      .addColumn('poll_interval_seconds', 'integer')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('services_application_name_unique', ['application_id', 'name'])
      .addUniqueConstraint('services_repository_unique', ['repository'])
      .execute();

    await db.schema
      .createTable('deployments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('branch', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('triggered_by', 'text', (c) => c.notNull())
      .addColumn('items', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addCheckConstraint('deployments_status_check', sql`${sql.ref('status')} in ('running', 'succeeded', 'failed', 'cancelled')`)
      .addCheckConstraint('deployments_trigger_check', sql`${sql.ref('trigger')} in ('web', 'api', 'cli', 'hook', 'poll')`)
      .execute();
    await db.schema.createIndex('deployments_application').on('deployments').columns(['application_id', 'created_at', 'id']).execute();
    await db.schema
      .createIndex('deployments_running')
      .on('deployments')
      .columns(['created_at', 'id'])
      .where(sql.ref('status'), '=', 'running')
      .execute();

    await db.schema
      .createTable('builds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('service_id', 'text', (c) => c.notNull().references('services.id').onDelete('cascade'))
      .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id').onDelete('cascade'))
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('deployment_id', 'text', (c) => c.references('deployments.id').onDelete('set null'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('triggered_by', 'text', (c) => c.notNull())
      .addColumn('branch', 'text', (c) => c.notNull())
      .addColumn('commit', 'text')
      .addColumn('commit_message', 'text')
      .addColumn('commit_author', 'text')
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('image_digest', 'text')
      .addColumn('image_id', 'text')
      .addColumn('image_size', 'bigint')
      .addColumn('layer_count', 'integer')
      .addColumn('error', 'text')
      .addColumn('phases', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('worker_id', 'text')
      .addColumn('heartbeat_at', 'text')
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('force', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('rebuild_of', 'text', (c) => c.references('builds.id').onDelete('set null'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .addCheckConstraint(
        'builds_status_check',
        sql`${sql.ref('status')} in ('queued', 'fetching', 'building', 'pushing', 'succeeded', 'failed', 'cancelled')`,
      )
      .addCheckConstraint('builds_trigger_check', sql`${sql.ref('trigger')} in ('web', 'api', 'cli', 'hook', 'poll')`)
      .execute();
    await db.schema.createIndex('builds_claim').on('builds').columns(['status', 'created_at', 'id']).execute();
    await db.schema.createIndex('builds_service_commit').on('builds').columns(['service_id', 'commit', 'created_at', 'id']).execute();
    await db.schema.createIndex('builds_service_created').on('builds').columns(['service_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('builds_application_created').on('builds').columns(['application_id', 'created_at', 'id']).execute();
    await db.schema.createIndex('builds_deployment').on('builds').column('deployment_id').execute();
    await db.schema
      .createIndex('builds_active')
      .on('builds')
      .columns(['service_id', 'created_at', 'id'])
      .where(sql<boolean>`${sql.ref('status')} in ('queued', 'fetching', 'building', 'pushing')`)
      .execute();
    // Backs the self-referencing foreign key: deleting a build must not scan the table for its rebuilds.
    await db.schema
      .createIndex('builds_rebuild_of')
      .on('builds')
      .column('rebuild_of')
      .where(sql.ref('rebuild_of'), 'is not', null)
      .execute();

    await addSerialKey(db, db.schema.createTable('events'), 'seq')
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('application_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('events_application').on('events').columns(['application_id', 'seq']).execute();
    await db.schema.createIndex('events_account').on('events').columns(['account_id', 'seq']).execute();
  },
};
