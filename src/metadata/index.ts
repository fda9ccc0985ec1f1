import { AppError } from '../core/errors.ts';
import { openSqlite } from './sqlite.ts';
import type { Metadata } from './types.ts';

export * from './types.ts';
export { openSqlite, type SqliteOptions } from './sqlite.ts';
export { createMetadata } from './store.ts';
export { migrateToLatest, schemaStatus, type SchemaStatus, MIGRATION_TABLE } from './migrate.ts';
export { MIGRATIONS } from './migrations/index.ts';
export type { Database } from './schema.ts';

/** Which metadata backend to open. PostgreSQL will add `{ kind: 'postgres'; url: string }`. */
export type MetadataOptions = { kind: 'sqlite'; path: string };

/**
 * Opens the configured metadata store with its schema migrated to the latest version. Throws AppError INVALID for
 * an unknown kind, an unopenable database or a database migrated by a newer BuildGrid.
 */
export async function openMetadata(opts: MetadataOptions): Promise<Metadata> {
  switch (opts.kind) {
    case 'sqlite':
      return openSqlite({ path: opts.path });
    default:
      throw new AppError('INVALID', `unknown metadata store kind "${(opts as { kind: string }).kind}": use sqlite`);
  }
}
