import { PostgresAdapter, sql, type CreateTableBuilder, type Kysely, type RawBuilder } from 'kysely';

/**
 * Column type for TEXT that must sort bytewise (names listed with `last`/`limit` pagination, as the OCI
 * distribution spec asks for lexical order). SQLite's default BINARY collation already compares bytes; PostgreSQL's
 * default collation follows the locale (it would sort `B` after `a` and ignore `-`), so it gets `COLLATE "C"`.
 */
export function bytewiseText(db: Kysely<any>): 'text' | RawBuilder<unknown> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql`text collate "C"` : 'text';
}

/**
 * Adds an increasing integer primary key `column`, assigned by the database. SQLite: INTEGER PRIMARY KEY
 * AUTOINCREMENT (the rowid; AUTOINCREMENT guarantees a deleted highest value is never handed out again, which a
 * reader resuming "after seq N" relies on). PostgreSQL: bigserial.
 */
export function addSerialKey<T extends CreateTableBuilder<any, any>>(db: Kysely<any>, table: T, column: string): T {
  return (db.getExecutor().adapter instanceof PostgresAdapter
    ? table.addColumn(column, 'bigserial', (c) => c.primaryKey())
    : table.addColumn(column, 'integer', (c) => c.primaryKey().autoIncrement())) as T;
}
