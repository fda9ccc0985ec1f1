import BetterSqlite3 from 'better-sqlite3';
import { AppError } from '../core/errors.ts';
import { migrateToLatest } from './migrate.ts';
import { sqliteKysely } from './sqlite-dialect.ts';
import { createMetadata } from './store.ts';
import type { Metadata } from './types.ts';

/** Options for the embedded SQLite store. */
export interface SqliteOptions {
  /** Database file (created when missing; its directory must exist), or ':memory:' for a private in-memory store. */
  path: string;
  /** Called with the migrations applied while opening (empty when the schema was up to date). */
  onMigrated?: (applied: string[]) => void;
}

/**
 * Opens (creating when missing) a SQLite metadata store and brings its schema up to date.
 * Pragmas: WAL (readers never wait for the writer), busy_timeout 5000 ms (another process, e.g. an admin command,
 * holding the write lock makes us wait rather than fail), foreign_keys ON (SQLite's default is OFF).
 * Throws AppError INVALID when the file cannot be opened or holds a newer schema (see migrateToLatest), and
 * AppError INTERNAL when a migration fails.
 */
export async function openSqlite(opts: SqliteOptions): Promise<Metadata> {
  let raw: BetterSqlite3.Database;
  try {
    raw = new BetterSqlite3(opts.path);
    raw.pragma('busy_timeout = 5000');
    raw.pragma('journal_mode = WAL');
    raw.pragma('foreign_keys = ON');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new AppError('INVALID', `cannot open the SQLite metadata database at ${opts.path}: ${reason}`, { cause: err });
  }
  const db = sqliteKysely(raw);
  try {
    const applied = await migrateToLatest(db);
    opts.onMigrated?.(applied);
  } catch (err) {
    await db.destroy();
    raw.close(); // destroy() closes only a driver that has run a query; close() is idempotent
    throw err;
  }
  return createMetadata(db);
}
