import type { Kysely, Migration } from 'kysely';

/**
 * Fair queueing (builds-fair.ts): per account with queued builds, a claim reads how many builds it runs and when its
 * latest build started. Without these indexes both would walk the account's whole build history (tens of thousands
 * of rows for a busy account) at every claim, inside the claim's write lock on SQLite.
 *   builds_account_status  (account_id, status): running count = three index range probes
 *   builds_account_started (account_id, started_at): the latest start = the last entry of the account's range
 * Schema builder only, so PostgreSQL runs the same migration.
 */
export const m0006_fair_queue: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.createIndex('builds_account_status').on('builds').columns(['account_id', 'status']).execute();
    await db.schema.createIndex('builds_account_started').on('builds').columns(['account_id', 'started_at']).execute();
  },
};
