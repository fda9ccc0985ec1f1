import { PostgresAdapter, sql, type Kysely } from 'kysely';

/**
 * Whether `db` (or a transaction on it) takes row locks with `SELECT … FOR UPDATE [SKIP LOCKED]`. PostgreSQL does;
 * SQLite has no row locks and rejects the clause, but needs none: our SQLite transactions start with BEGIN
 * IMMEDIATE (sqlite-dialect.ts), so a transaction that reads then writes already holds the database's only write
 * lock for its whole length.
 */
export function hasRowLocks(db: Kysely<any>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/**
 * Inside a transaction: makes it exclusive with every other transaction that locks one of the same `keys` (a digest,
 * a lease name), until it ends — what SQLite's database-wide write lock gives every write transaction for free.
 * PostgreSQL: transaction-level advisory locks on hashtext(key), taken in hash order so two transactions locking
 * overlapping sets cannot deadlock (a hash collision only serializes two unrelated keys). SQLite: nothing to do.
 * Call it first thing in the transaction, before reading what the lock protects.
 */
export async function lockKeys(trx: Kysely<any>, keys: Iterable<string>): Promise<void> {
  if (!hasRowLocks(trx)) return;
  const unique = [...new Set(keys)];
  if (unique.length === 0) return;
  // One statement (the array is one parameter), so the hash order holds across the whole set.
  await sql`select pg_advisory_xact_lock(h) from (select distinct hashtext(k) as h from unnest(${unique}::text[]) as k order by h) as ordered`.execute(trx);
}

/**
 * Inside a transaction: tries to make it exclusive with every other transaction that locks `key`, without waiting.
 * Resolves to false when another transaction holds the key now (PostgreSQL: pg_try_advisory_xact_lock, held until
 * the transaction ends) — the advisory-lock twin of SKIP LOCKED. SQLite: always true (the write lock covers it).
 */
export async function tryLockKey(trx: Kysely<any>, key: string): Promise<boolean> {
  if (!hasRowLocks(trx)) return true;
  const r = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(hashtext(${key})) as locked`.execute(trx);
  return r.rows[0]?.locked === true;
}
