import { AppError } from '../core/errors.ts';
import { openSqlite } from './sqlite.ts';
import type { Metadata } from './types.ts';

export * from './types.ts';
export { openSqlite, type SqliteOptions } from './sqlite.ts';
export { describePostgresUrl } from './postgres-url.ts';
export type { PostgresOptions } from './postgres.ts';
export { createMetadata } from './store.ts';
export { withReadCache, type CachedMetadata, type ReadCacheOptions, type ReadCacheStats } from './read-cache.ts';
export { migrateToLatest, schemaStatus, type SchemaStatus, MIGRATION_TABLE } from './migrate.ts';
export { MIGRATIONS } from './migrations/index.ts';
export type { Database } from './schema.ts';

/** Which metadata backend to open: the embedded SQLite file, or a PostgreSQL server (scale-out). */
export type MetadataOptions = ({ kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string; poolSize?: number }) & {
  /** Called with the migrations applied while opening (empty when the schema was up to date). */
  onMigrated?: (applied: string[]) => void;
};

/**
 * Opens the configured metadata store with its schema migrated to the latest version. Throws AppError INVALID for
 * an unknown kind, an unopenable or unreachable database, or a database migrated by a newer BuildGrid.
 */
export async function openMetadata(opts: MetadataOptions): Promise<Metadata> {
  switch (opts.kind) {
    case 'sqlite':
      return openSqlite({ path: opts.path, onMigrated: opts.onMigrated });
    case 'postgres':
      // Loaded on demand: a SQLite server never pays for the pg driver's memory.
      return (await import('./postgres.ts')).openPostgres({ url: opts.url, poolSize: opts.poolSize, onMigrated: opts.onMigrated });
    default:
      throw new AppError('INVALID', `unknown metadata store kind "${(opts as { kind: string }).kind}": use sqlite or postgres`);
  }
}
