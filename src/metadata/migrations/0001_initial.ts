import { sql, type Kysely, type Migration } from 'kysely';
import { bytewiseText } from './dialect.ts';

/**
 * The first schema: people, credentials, image repositories, manifests and tags. Written with Kysely's schema
 * builder only (no dialect SQL except `bytewiseText`) so PostgreSQL runs the same migration.
 *
 * Hot-path lookups and the index that serves each:
 *   tags.get                 tags PK (repo_id, name)
 *   manifests.get            manifests PK (repo_id, digest)
 *   repositories.get         repositories_name_unique
 *   repositories.hasBlob     repository_blobs PK (repo_id, digest)
 *   manifests.referrers      manifests_subject (repo_id, subject), partial: most manifests have no subject
 *   manifests.delete → tags  tags_digest (repo_id, digest), also backs the tags → manifests foreign key
 */
export const m0001_initial: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    const name = bytewiseText(db);

    await db.schema
      .createTable('accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('namespace', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('accounts_namespace_unique', ['namespace'])
      .execute();

    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('registry_username', 'text', (c) => c.notNull())
      .addColumn('registry_secret_hash', 'text', (c) => c.notNull())
      .addColumn('registry_secret_enc', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('users_email_unique', ['email'])
      .addUniqueConstraint('users_registry_username_unique', ['registry_username'])
      .execute();

    await db.schema
      .createTable('memberships')
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('memberships_pk', ['account_id', 'user_id'])
      .addCheckConstraint('memberships_role_check', sql`role in ('owner', 'developer', 'viewer')`)
      .execute();
    await db.schema.createIndex('memberships_user').on('memberships').column('user_id').execute();

    await db.schema
      .createTable('api_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addUniqueConstraint('api_tokens_hash_unique', ['token_hash'])
      .execute();
    await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();

    await db.schema
      .createTable('pull_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('username', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('repositories', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addUniqueConstraint('pull_tokens_username_unique', ['username'])
      .execute();
    await db.schema.createIndex('pull_tokens_account').on('pull_tokens').column('account_id').execute();

    await db.schema
      .createTable('repositories')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('namespace', name, (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('repositories_name_unique', ['name'])
      .execute();
    await db.schema.createIndex('repositories_namespace').on('repositories').columns(['namespace', 'name']).execute();

    await db.schema
      .createTable('repository_blobs')
      .addColumn('repo_id', 'text', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('repository_blobs_pk', ['repo_id', 'digest'])
      .execute();
    // Garbage collection asks "does any repository still link this blob?".
    await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();

    await db.schema
      .createTable('manifests')
      .addColumn('repo_id', 'text', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('media_type', 'text', (c) => c.notNull())
      .addColumn('size', 'integer', (c) => c.notNull())
      .addColumn('artifact_type', 'text')
      .addColumn('subject', 'text')
      .addColumn('annotations', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('manifests_pk', ['repo_id', 'digest'])
      .execute();
    await db.schema
      .createIndex('manifests_subject')
      .on('manifests')
      .columns(['repo_id', 'subject'])
      .where(sql.ref('subject'), 'is not', null)
      .execute();

    for (const [table, column] of [['manifest_blobs', 'blob_digest'], ['manifest_children', 'child_digest']] as const) {
      await db.schema
        .createTable(table)
        .addColumn('repo_id', 'text', (c) => c.notNull())
        .addColumn('manifest_digest', 'text', (c) => c.notNull())
        .addColumn(column, 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint(`${table}_pk`, ['repo_id', 'manifest_digest', column])
        .addForeignKeyConstraint(`${table}_manifest_fk`, ['repo_id', 'manifest_digest'], 'manifests', ['repo_id', 'digest'], (fk) =>
          fk.onDelete('cascade'),
        )
        .execute();
      // Garbage collection asks "does any manifest still reference this blob / child?".
      await db.schema.createIndex(`${table}_target`).on(table).columns([column, 'repo_id']).execute();
    }

    await db.schema
      .createTable('tags')
      .addColumn('repo_id', 'text', (c) => c.notNull())
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('digest', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('tags_pk', ['repo_id', 'name'])
      .addForeignKeyConstraint('tags_manifest_fk', ['repo_id', 'digest'], 'manifests', ['repo_id', 'digest'], (fk) =>
        fk.onDelete('cascade'),
      )
      .execute();
    await db.schema.createIndex('tags_digest').on('tags').columns(['repo_id', 'digest']).execute();

    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
  },
};
