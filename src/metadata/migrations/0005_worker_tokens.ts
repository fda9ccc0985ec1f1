import type { Kysely, Migration } from 'kysely';

/**
 * Worker tokens: the credentials of `buildgrid worker` processes on build hosts. Only the SHA-256 of a token is
 * stored (token_hash, unique: the lookup of every worker request); a revoked token keeps its row with revoked_at set,
 * so the list shows what was revoked and when. Schema builder only, so PostgreSQL runs the same migration.
 */
export const m0005_worker_tokens: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema
      .createTable('worker_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
  },
};
