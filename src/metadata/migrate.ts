import { Migrator, type Kysely, type Migration } from 'kysely';
import { AppError } from '../core/errors.ts';
import { MIGRATIONS } from './migrations/index.ts';

/** The table where the Kysely Migrator records applied migrations (Kysely's default name, spelled out). */
export const MIGRATION_TABLE = 'kysely_migration';
/** The Migrator's lock table (used by PostgreSQL so concurrent starts migrate once). */
export const MIGRATION_LOCK_TABLE = 'kysely_migration_lock';

/** Where a database's schema stands relative to the migrations this build knows. */
export interface SchemaStatus {
  /** Applied migration names, in order. */
  applied: string[];
  /** Known migrations not yet applied. */
  pending: string[];
  /** Applied migrations this build does not know: the database was migrated by a newer BuildGrid. */
  unknown: string[];
  /** The last applied migration, or null for an empty database. */
  version: string | null;
}

/** Reads the schema status. Never writes; an empty database reports every migration pending. */
export async function schemaStatus(db: Kysely<any>, known: Readonly<Record<string, Migration>> = MIGRATIONS): Promise<SchemaStatus> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  const applied = tables.some((t) => t.name === MIGRATION_TABLE)
    ? (await db.selectFrom(MIGRATION_TABLE).select('name').orderBy('name').execute()).map((r) => r.name as string)
    : [];
  const names = Object.keys(known).sort();
  const done = new Set(applied);
  return {
    applied,
    pending: names.filter((n) => !done.has(n)),
    unknown: applied.filter((n) => !(n in known)),
    version: applied.at(-1) ?? null,
  };
}

/**
 * Applies every pending migration and resolves to the names applied now. Whether a failed migration is rolled back
 * depends on the dialect: PostgreSQL and our SQLite dialect (sqlite-dialect.ts) run the whole batch in one transaction.
 * `migrations` defaults to MIGRATIONS (tests pass others).
 * Throws AppError INVALID, before changing anything, when the database holds migrations this build does not know
 * (it belongs to a newer BuildGrid; running older code on it could corrupt it). Throws AppError INTERNAL when a
 * migration fails.
 */
export async function migrateToLatest(db: Kysely<any>, migrations: Readonly<Record<string, Migration>> = MIGRATIONS): Promise<string[]> {
  const status = await schemaStatus(db, migrations);
  if (status.unknown.length > 0) {
    throw new AppError(
      'INVALID',
      `the metadata database was migrated by a newer BuildGrid (unknown migrations: ${status.unknown.join(', ')}); ` +
        'upgrade BuildGrid or point it at a matching database',
      { unknown: status.unknown },
    );
  }
  if (status.pending.length === 0) return [];
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    // Milestones developed side by side number their migrations independently (0003_hooks, 0004_lifecycle): a
    // database that got a later number first must still accept an earlier one that lands afterwards. Each
    // migration only adds its own tables, so their relative order does not matter.
    allowUnorderedMigrations: true,
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppError('INTERNAL', `metadata migration ${failed} failed: ${reason}`, { cause: error });
  }
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
