import type { Kysely, Selectable } from 'kysely';
import { randomId } from '../core/ids.ts';
import { nowIso } from './codec.ts';
import type { Database } from './schema.ts';
import type { WorkerTokensTable } from './schema-workers.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { WorkerToken, WorkerTokensRepo } from './workers-types.ts';

const COLS = ['id', 'name', 'created_by', 'created_at', 'last_used_at', 'revoked_at'] as const;

/** Worker tokens over Kysely. create throws AppError CONFLICT for a reused hash. */
export function workerTokensRepo(db: Kysely<Database>): WorkerTokensRepo {
  return {
    async create({ name, tokenHash, createdBy }) {
      const row = { id: randomId(), name, token_hash: tokenHash, created_by: createdBy, created_at: nowIso(), last_used_at: null, revoked_at: null };
      try {
        await db.insertInto('worker_tokens').values(row).execute();
      } catch (err) {
        rethrowViolation(err, { unique: () => 'a worker token with this secret already exists; generate a new secret' });
      }
      return toToken(row);
    },
    async findByHash(tokenHash) {
      const row = await db.selectFrom('worker_tokens').select(COLS).where('token_hash', '=', tokenHash).where('revoked_at', 'is', null).executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async list() {
      return (await db.selectFrom('worker_tokens').select(COLS).orderBy('created_at').orderBy('id').execute()).map(toToken);
    },
    async revoke(id) {
      const r = await db.updateTable('worker_tokens').set({ revoked_at: nowIso() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    },
    async touch(id) {
      await db.updateTable('worker_tokens').set({ last_used_at: nowIso() }).where('id', '=', id).execute();
    },
  };
}

function toToken(r: Pick<Selectable<WorkerTokensTable>, (typeof COLS)[number]>): WorkerToken {
  return { id: r.id, name: r.name, createdBy: r.created_by, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at };
}
