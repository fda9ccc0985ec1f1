import pg from 'pg';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { AppError } from '../core/errors.ts';
import { eventsRepo } from './events.ts';
import { migrateToLatest } from './migrate.ts';
import { BUILD_QUEUED_CHANNEL, createQueueListener } from './postgres-listen.ts';
import type { Database } from './schema.ts';
import { createMetadata } from './store.ts';
import type { Metadata } from './types.ts';
import { describePostgresUrl } from './postgres-url.ts';

export { describePostgresUrl };

/** Options for the PostgreSQL store. */
export interface PostgresOptions {
  /** `postgres://user:password@host:port/database[?sslmode=…]` (libpq-style URL, as `pg` reads it). */
  url: string;
  /** Connections in this process's pool. Default 10. */
  poolSize?: number;
  /** Called with the migrations applied while opening (empty when the schema was up to date). */
  onMigrated?: (applied: string[]) => void;
}

/**
 * Key of the transaction-level advisory lock that serializes event appends. Any constant works as long as nothing
 * else in the database uses it (Kysely's migration lock is 3853314791062309107).
 */
const EVENT_APPEND_LOCK = 0x4247_6576; // "BGev"

/** Type parsers for this pool: bigint (int8, OID 20) as a JS number, everything else as pg's defaults. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * Opens a PostgreSQL metadata store and brings its schema up to date (concurrent starts of several nodes migrate
 * once: Kysely's Migrator takes an advisory lock). The same repo modules as SQLite run on it (store.ts); three
 * things differ, all here:
 * - builds.claim / reclaimStale take their rows `FOR UPDATE SKIP LOCKED` (builds-queue.ts, keyed on locking.ts);
 * - events.append runs in a transaction that first takes an advisory lock (see serializedAppend);
 * - builds.create and a reclaim that requeues send NOTIFY, so `onBuildQueued` listeners on every node wake at once.
 * Throws AppError INVALID when the server cannot be reached or refuses the login, or the schema belongs to a newer
 * BuildGrid; AppError INTERNAL when a migration fails. The URL's password never appears in a message.
 */
export async function openPostgres(opts: PostgresOptions): Promise<Metadata> {
  const where = describePostgresUrl(opts.url);
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize ?? 10,
    connectionTimeoutMillis: 10_000,
    types: TYPES,
  });
  // A connection the server ends (restart, failover, pg_terminate_backend) emits 'error'. On an idle connection pg's
  // pool re-emits it on the pool; on a checked-out one between two statements of a transaction nobody listens, and
  // an unhandled 'error' event would crash the process. Either way the statement in flight (or the next one) fails
  // and the pool replaces the connection, so swallowing the event is right.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => void client.on('error', () => undefined));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw new AppError('INVALID', `cannot connect to the PostgreSQL metadata database at ${where}: ${pgReason(err)}`, { cause: err });
  }
  try {
    const applied = await migrateToLatest(db);
    opts.onMigrated?.(applied);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw err;
  }
  return postgresMetadata(db, opts.url);
}

/** The Metadata facade over a migrated PostgreSQL Kysely instance (see openPostgres for what differs from SQLite). */
function postgresMetadata(db: Kysely<Database>, url: string): Metadata {
  const base = createMetadata(db);
  const listener = createQueueListener({ url, types: TYPES });
  const notifyQueued = async () => {
    // The build is committed; a lost notification only delays workers until their next poll.
    await sql`select pg_notify(${BUILD_QUEUED_CHANNEL}, '')`.execute(db).catch(() => undefined);
  };
  return {
    ...base,
    events: { ...base.events, append: (input) => serializedAppend(db, input) },
    builds: {
      ...base.builds,
      async create(input) {
        const build = await base.builds.create(input);
        await notifyQueued();
        return build;
      },
      async reclaimStale(staleBefore, error) {
        const changed = await base.builds.reclaimStale(staleBefore, error);
        if (changed.some((b) => b.status === 'queued')) await notifyQueued();
        return changed;
      },
    },
    onBuildQueued: (cb) => listener.subscribe(cb),
    async close() {
      await listener.close();
      await base.close();
    },
  };
}

/**
 * Appends an event with every other append in the database serialized behind one advisory lock.
 *
 * Why: `seq` is a bigserial, handed out when the INSERT runs, but the row becomes visible only at COMMIT. Two
 * concurrent appends can take seq 7 and 8 and commit 8 first; a live reader polling "after seq 6" then sees 8,
 * remembers 8, and never sees 7. Holding a transaction-level lock from before nextval() until after COMMIT makes
 * seq order commit order (PostgreSQL makes a transaction visible before it releases its locks), so a reader that
 * has seen N has seen everything below N. The cost is one lock round trip per append; events come at most a few
 * hundred per second, and an append holds the lock for about a millisecond.
 */
function serializedAppend(db: Kysely<Database>, input: Parameters<Metadata['events']['append']>[0]) {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(EVENT_APPEND_LOCK)})`.execute(trx);
    return eventsRepo(trx).append(input);
  });
}

/** A readable reason from a pg / net error (ECONNREFUSED on several addresses arrives as an AggregateError). */
export function pgReason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return pgReason(err.errors[0]);
  const e = err as { message?: string; code?: string } | null;
  const message = e?.message || e?.code || String(err);
  return e?.code && !message.includes(e.code) ? `${message} (${e.code})` : message;
}
