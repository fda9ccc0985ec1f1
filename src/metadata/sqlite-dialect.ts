import { resolve } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery, Kysely, SqliteAdapter, SqliteDialect, SqliteDriver,
  type DatabaseConnection, type Driver, type DialectAdapter, type SqliteDatabase, type SqliteStatement,
} from 'kysely';
import type { Database } from './schema.ts';

/** How many distinct SQL texts keep a prepared statement (the app issues a few dozen; IN-lists add some). */
const STATEMENT_CACHE_SIZE = 256;

/**
 * A Kysely<Database> over an open better-sqlite3 handle, with four changes to Kysely's stock SQLite dialect:
 * prepared statements are cached, transactions start with BEGIN IMMEDIATE, handles on one file in this process
 * share a connection mutex, and migrations run in a transaction.
 * Destroying the Kysely instance closes `raw`.
 */
export function sqliteKysely(raw: BetterSqlite3.Database): Kysely<Database> {
  return new Kysely<Database>({ dialect: new BuildGridSqliteDialect(withStatementCache(raw), fileKey(raw)) });
}

class BuildGridSqliteDialect extends SqliteDialect {
  readonly #database: SqliteDatabase;
  readonly #file: string | null;
  constructor(database: SqliteDatabase, file: string | null) {
    super({ database });
    this.#database = database;
    this.#file = file;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver({ database: this.#database }, this.#file);
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
  readonly #file: string | null;
  #released = false;
  constructor(config: ConstructorParameters<typeof SqliteDriver>[0], file: string | null) {
    super(config);
    this.#file = file;
    if (file !== null) fileMutex(file, +1);
  }
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  override async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#file !== null) await fileMutex(this.#file, 0).lock();
    return super.acquireConnection();
  }
  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    if (this.#file !== null) fileMutex(this.#file, 0).unlock();
  }
  override async destroy(): Promise<void> {
    if (this.#file !== null && !this.#released) {
      this.#released = true;
      fileMutex(this.#file, -1);
    }
    await super.destroy();
  }
}

/**
 * Every Kysely instance on the same database file in this process takes its connection through one mutex.
 * better-sqlite3 is synchronous, so a busy wait blocks the whole thread: if store A holds the write lock inside a
 * transaction (which awaits between statements) and store B, in the same process, starts a write, B's busy handler
 * sleeps on the thread A needs to finish, and B fails with SQLITE_BUSY after busy_timeout (measured: two
 * concurrent manifests.put on two stores over one file failed after 10 s). Queueing on an async mutex instead lets
 * A finish first. Other processes are unaffected and still wait on busy_timeout. Keyed by the resolved path (two
 * spellings through a symlink are not recognised); ':memory:' and temporary databases are private to their handle.
 */
const fileMutexes = new Map<string, { mutex: FifoMutex; users: number }>();

/** The mutex for `file`, adding (`+1`) or dropping (`-1`) one user; the entry is removed with its last user. */
function fileMutex(file: string, delta: -1 | 0 | 1): FifoMutex {
  let entry = fileMutexes.get(file);
  if (!entry) {
    entry = { mutex: new FifoMutex(), users: 0 };
    fileMutexes.set(file, entry);
  }
  entry.users += delta;
  if (entry.users <= 0) fileMutexes.delete(file);
  return entry.mutex;
}

/** The key for fileMutex, or null for a database no other handle can open. */
function fileKey(raw: BetterSqlite3.Database): string | null {
  return raw.memory || raw.name === '' ? null : resolve(raw.name);
}

/** An async mutex that admits waiters in arrival order. */
class FifoMutex {
  #held = false;
  readonly #waiters: (() => void)[] = [];
  async lock(): Promise<void> {
    if (!this.#held) {
      this.#held = true;
      return;
    }
    await new Promise<void>((grant) => this.#waiters.push(grant));
  }
  unlock(): void {
    const next = this.#waiters.shift();
    if (next) next(); // ownership passes straight to the next waiter
    else this.#held = false;
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
