import { PostgresAdapter, sql, type Kysely, type RawBuilder } from 'kysely';

/**
 * Column type for TEXT that must sort bytewise (names listed with `last`/`limit` pagination, as the OCI
 * distribution spec asks for lexical order). SQLite's default BINARY collation already compares bytes; PostgreSQL's
 * default collation follows the locale (it would sort `B` after `a` and ignore `-`), so it gets `COLLATE "C"`.
 */
export function bytewiseText(db: Kysely<any>): 'text' | RawBuilder<unknown> {
  return db.getExecutor().adapter instanceof PostgresAdapter ? sql`text collate "C"` : 'text';
}
