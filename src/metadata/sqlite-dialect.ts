import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery, Kysely, SqliteAdapter, SqliteDialect, SqliteDriver,
  type DatabaseConnection, type Driver, type DialectAdapter, type SqliteDatabase, type SqliteStatement,
} from 'kysely';
import type { Database } from './schema.ts';

/** How many distinct SQL texts keep a prepared statement (the app issues a few dozen; IN-lists add some). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * A Kysely<Database> over an open better-sqlite3 handle, with three changes to Kysely's stock SQLite dialect:
 * prepared statements are cached, transactions start with BEGIN IMMEDIATE, and migrations run in a transaction.
 * Destroying the Kysely instance closes `raw`.
 */
export function sqliteKysely(raw: BetterSqlite3.Database): Kysely<Database> {
  return new Kysely<Database>({ dialect: new BuildGridSqliteDialect(withStatementCache(raw)) });
}

class BuildGridSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;
  constructor(database: SqliteDatabase) {
    super({ database });
    this.#database = database;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database });
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * Kysely begins SQLite transactions with a deferred BEGIN, which takes the write lock only at the first write. If
 * two processes (a server and an admin command) each read and then write, the second to upgrade fails at once with
 * SQLITE_BUSY, ignoring busy_timeout, because waiting could deadlock. BEGIN IMMEDIATE takes the write lock up front,
 * so the second transaction simply waits (up to busy_timeout). Every transaction here writes, so nothing is lost.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/**
 * SQLite does run DDL inside transactions, but Kysely's adapter says otherwise, so its Migrator would run
 * migrations outside any transaction: a crash halfway would leave tables without a recorded migration, and the
 * next start would fail on "table already exists". Claiming support makes the Migrator apply all pending
 * migrations in one transaction (atomically). SQLite needs no migration lock: the transaction is the lock.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * Wraps a better-sqlite3 database so each distinct SQL text is prepared once. Kysely's SQLite driver calls
 * `prepare()` for every query; on the registry's hot path (a few point lookups per request, ~10k requests/s)
 * re-parsing the SQL each time costs ~3-4 µs per query, as much as the lookup itself. Reusing a statement is safe
 * because Kysely runs one query at a time on SQLite's single connection, and each call runs its statement to
 * completion before the next (Kysely's stream() holds the connection while it iterates). A small LRU bounds the
 * cache, since queries with IN-lists of varying length produce distinct texts.
 */
function withStatementCache(raw: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    prepare(text) {
      let stmt = cache.get(text);
      if (stmt) {
        cache.delete(text); // re-inserted below as the most recently used
      } else {
        stmt = raw.prepare(text) as unknown as SqliteStatement;
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(text, stmt);
      return stmt;
    },
    close() {
      cache.clear();
      raw.close();
    },
  };
}
