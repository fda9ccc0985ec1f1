import { sql, type Kysely, type Migration } from 'kysely';

/**
 * The lifecycle milestone: retention policies, the image trash (deleted images restorable for a grace window),
 * last-pulled times, blob touches (the garbage collector's fence) and the history of lifecycle runs. Schema builder
 * only, so PostgreSQL runs the same migration. Independent of 0003_hooks: the two may be applied in either order.
 *
 * Queries and the index that serves each:
 *   policies.get                 retention_policies PK (account_id, application_id); '' = the account default
 *   trash.list                   image_trash_account (account_id, removed_at)
 *   trash.purgeExpired           image_trash_active (expires_at), partial: only entries neither restored nor purged
 *   trash refs (gc sweep)        image_trash_refs_digest (digest, repo_id): "does a restorable image need this blob?"
 *   builds.findSucceeded         image_trash_builds PK (build_id, trash_id): "was this build's image removed?"
 *   pulls.lastPulled             image_pulls PK (repo_id, digest)
 *   gc.touch / sweep             blob_touches PK (digest)
 *   runs.start                   lifecycle_runs_running, partial: at most a handful of running rows
 *   runs.list                    lifecycle_runs_started (started_at, id)
 *   gc sweep: "is d a manifest?" manifests_digest (digest); the manifests PK leads with repo_id
 *
 * image_trash_refs rows exist only while their entry is restorable (restore and purge delete them), so the
 * collector's question needs no join on image_trash. image_trash_builds rows exist while the image is gone
 * (removed or purged) and are deleted on restore.
 */
export const m0004_lifecycle: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.createIndex('manifests_digest').on('manifests').column('digest').execute();

    await db.schema
      .createTable('retention_policies')
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('application_id', 'text', (c) => c.notNull())
      .addColumn('keep_last_per_branch', 'integer')
      .addColumn('keep_newer_than_days', 'double precision')
      .addColumn('keep_pulled_within_days', 'double precision', (c) => c.notNull())
      .addColumn('grace_days', 'double precision', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('retention_policies_pk', ['account_id', 'application_id'])
      .execute();

    await db.schema
      .createTable('image_trash')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('application_id', 'text')
      .addColumn('repo_id', 'text', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
      .addColumn('repository', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('tags', 'text', (c) => c.notNull())
      .addColumn('manifests', 'text', (c) => c.notNull())
      .addColumn('build_ids', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('removed_by', 'text', (c) => c.notNull())
      .addColumn('removed_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('restored_at', 'text')
      .addColumn('purged_at', 'text')
      .addColumn('bytes', 'bigint', (c) => c.notNull())
      .addCheckConstraint('image_trash_reason_check', sql`${sql.ref('reason')} in ('retention', 'fsck', 'manual')`)
      .execute();
    await db.schema.createIndex('image_trash_account').on('image_trash').columns(['account_id', 'removed_at', 'id']).execute();
    await db.schema.createIndex('image_trash_repo_digest').on('image_trash').columns(['repo_id', 'digest']).execute();
    await db.schema
      .createIndex('image_trash_active')
      .on('image_trash')
      .columns(['expires_at', 'id'])
      .where(sql<boolean>`${sql.ref('restored_at')} is null and ${sql.ref('purged_at')} is null`)
      .execute();

    await db.schema
      .createTable('image_trash_refs')
      .addColumn('trash_id', 'text', (c) => c.notNull().references('image_trash.id').onDelete('cascade'))
      .addColumn('repo_id', 'text', (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_trash_refs_pk', ['trash_id', 'digest'])
      .execute();
    await db.schema.createIndex('image_trash_refs_digest').on('image_trash_refs').columns(['digest', 'repo_id']).execute();

    await db.schema
      .createTable('image_trash_builds')
      .addColumn('trash_id', 'text', (c) => c.notNull().references('image_trash.id').onDelete('cascade'))
      .addColumn('build_id', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_trash_builds_pk', ['build_id', 'trash_id'])
      .execute();
    await db.schema.createIndex('image_trash_builds_trash').on('image_trash_builds').column('trash_id').execute();

    await db.schema
      .createTable('image_pulls')
      .addColumn('repo_id', 'text', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('pulled_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('image_pulls_pk', ['repo_id', 'digest'])
      .execute();

    await db.schema
      .createTable('blob_touches')
      .addColumn('digest', 'text', (c) => c.primaryKey())
      .addColumn('touched_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('blob_touches_time').on('blob_touches').column('touched_at').execute();

    await db.schema
      .createTable('lifecycle_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('trigger', 'text', (c) => c.notNull())
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('dry_run', 'integer', (c) => c.notNull())
      .addColumn('options', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('heartbeat_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('summary', 'text')
      .addColumn('report', 'text')
      .addColumn('error', 'text')
      .addCheckConstraint('lifecycle_runs_kind_check', sql`${sql.ref('kind')} in ('gc', 'fsck', 'retention')`)
      .addCheckConstraint('lifecycle_runs_status_check', sql`${sql.ref('status')} in ('running', 'succeeded', 'failed')`)
      .execute();
    await db.schema.createIndex('lifecycle_runs_started').on('lifecycle_runs').columns(['started_at', 'id']).execute();
    await db.schema
      .createIndex('lifecycle_runs_running')
      .on('lifecycle_runs')
      .column('heartbeat_at')
      .where(sql.ref('status'), '=', 'running')
      .execute();
  },
};
