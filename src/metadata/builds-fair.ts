import { type Kysely, type Selectable } from 'kysely';
import { ACTIVE, RUNNING } from './builds-rows.ts';
import { hasRowLocks, tryLockKey } from './locking.ts';
import type { BuildsTable, Database } from './schema.ts';
import type { QueuePlace } from './types.ts';

/**
 * Fair queueing: which queued build a claim takes when accounts compete (claim's `fair` option; builds-queue.ts does
 * the claiming itself). Why not one ORDER BY: the per-account limit must hold under concurrent claimers, and
 * "the account has fewer than N running" is a fact about other rows, which neither SKIP LOCKED nor a unique index
 * can guard. So:
 * 1. One read lists the accounts that have queued builds, each with its running count, the start of its latest
 *    claimed build and its oldest queued build (a GROUP BY over the queued rows, a few dozen at any time, plus two
 *    probes per account on builds_account_status and builds_account_started, migration 0006). Accounts at the
 *    limit drop out; the rest are ordered by running count (an account with nothing running goes first), then by
 *    latest claim (the account served longest ago goes next: round-robin), then by oldest queued build (FIFO).
 *    A burst of 10 builds from A followed by 1 from B: A's first, then B's (A now runs one, B none), then A's.
 * 2. For the first account in that order, the claim takes the account: SQLite needs nothing (the transaction
 *    began with BEGIN IMMEDIATE and holds the only write lock, so the counts just read cannot change); PostgreSQL
 *    tries a transaction-level advisory lock on the account, without waiting (pg_try_advisory_xact_lock — for an
 *    account what SKIP LOCKED is for a row). A claimer that finds the account taken moves on to the next account
 *    instead of queueing behind the other claimer, so N workers polling at once spread over N accounts. Once
 *    locked, the running count is read again: the claimer that held the lock before us has committed (advisory
 *    transaction locks are released at commit), and READ COMMITTED shows its claim to our next statement. Two
 *    claimers can therefore never both see the account one below its limit and both take a build.
 * 3. The account's oldest queued build is taken `FOR UPDATE SKIP LOCKED` as in the FIFO claim: a row locked by a
 *    concurrent cancel is skipped, and the next account is tried when the account has no other.
 * Cost: one more read per claim than FIFO; on SQLite the write lock is held ~0.1 ms longer with a dozen accounts
 * queued, which at one poll per worker per second stays far from limiting (see builds-queue.ts).
 */
export async function pickFair(trx: Kysely<Database>, maxPerAccount: number): Promise<Selectable<BuildsTable> | null> {
  const rowLocks = hasRowLocks(trx);
  const accounts = await trx
    .selectFrom('builds as q')
    .where('q.status', '=', 'queued')
    .groupBy('q.account_id')
    .select((eb) => [
      'q.account_id',
      eb.fn.min('q.created_at').as('oldest'),
      eb.selectFrom('builds as r').select((e) => e.fn.countAll().as('n')).whereRef('r.account_id', '=', 'q.account_id').where('r.status', 'in', RUNNING).as('running'),
      eb.selectFrom('builds as s').select((e) => e.fn.max('s.started_at').as('m')).whereRef('s.account_id', '=', 'q.account_id').as('last_claim'),
    ])
    .execute();
  const order = accounts
    .map((a) => ({ id: a.account_id, running: Number(a.running), last: a.last_claim ?? '', oldest: String(a.oldest) }))
    .filter((a) => a.running < maxPerAccount)
    .sort((x, y) => x.running - y.running || cmp(x.last, y.last) || cmp(x.oldest, y.oldest) || cmp(x.id, y.id));
  for (const a of order) {
    if (!(await tryLockKey(trx, `builds.claim:${a.id}`))) continue; // another claimer is deciding on this account
    if (rowLocks) {
      const again = await trx.selectFrom('builds').select((eb) => eb.fn.countAll().as('n')).where('account_id', '=', a.id).where('status', 'in', RUNNING).executeTakeFirstOrThrow();
      if (Number(again.n) >= maxPerAccount) continue;
    }
    const next = await trx
      .selectFrom('builds')
      .selectAll()
      .where('account_id', '=', a.id)
      .where('status', '=', 'queued')
      .orderBy('created_at')
      .orderBy('id')
      .limit(1)
      .$if(rowLocks, (q) => q.forUpdate().skipLocked())
      .executeTakeFirst();
    if (next) return next;
  }
  return null;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** How many recent builds the estimate averages. */
const RECENT = 10;

/** QueuePlace of build `id` (BuildsRepo.queuePlace): four small reads, none of which walks the build history. */
export async function queuePlace(db: Kysely<Database>, id: string): Promise<QueuePlace | null> {
  const b = await db.selectFrom('builds').select(['account_id', 'service_id', 'status', 'created_at', 'id']).where('id', '=', id).executeTakeFirst();
  if (!b || b.status !== 'queued') return null;
  const before = (q: ReturnType<typeof aheadBase>) => q.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(b.created_at, b.id)));
  const aheadBase = () => db.selectFrom('builds').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'queued');
  const [own, all, accounts, recent] = await Promise.all([
    before(aheadBase().where('account_id', '=', b.account_id)).executeTakeFirstOrThrow(),
    before(aheadBase()).executeTakeFirstOrThrow(),
    db.selectFrom('builds')
      .select((eb) => [
        'account_id',
        eb.fn.sum<number>(eb.case().when('status', '=', 'queued').then(1).else(0).end()).as('queued'),
        eb.fn.sum<number>(eb.case().when('status', 'in', RUNNING).then(1).else(0).end()).as('running'),
      ])
      .where('status', 'in', ACTIVE)
      .groupBy('account_id')
      .orderBy('account_id')
      .execute(),
    db.selectFrom('builds')
      .select(['started_at', 'finished_at'])
      .where('service_id', '=', b.service_id)
      .where('status', '=', 'succeeded')
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(RECENT)
      .execute(),
  ]);
  return {
    accountAhead: Number(own.n),
    globalAhead: Number(all.n),
    accounts: accounts.map((a) => ({ accountId: a.account_id, queued: Number(a.queued), running: Number(a.running) })),
    recentSeconds: recent
      .filter((r) => r.started_at && r.finished_at)
      .map((r) => Math.max(0, (Date.parse(r.finished_at!) - Date.parse(r.started_at!)) / 1000)),
  };
}
