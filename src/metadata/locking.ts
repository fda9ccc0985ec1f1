import { PostgresAdapter, type Kysely } from 'kysely';

/**
 * Whether `db` (or a transaction on it) takes row locks with `SELECT … FOR UPDATE [SKIP LOCKED]`. PostgreSQL does;
 * SQLite has no row locks and rejects the clause, but needs none: our SQLite transactions start with BEGIN
 * IMMEDIATE (sqlite-dialect.ts), so a transaction that reads then writes already holds the database's only write
 * lock for its whole length.
 */
export function hasRowLocks(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}
