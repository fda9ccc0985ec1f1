import type { Kysely, Selectable } from 'kysely';
import { randomId } from '../core/ids.ts';
import { nowIso } from './codec.ts';
import type { AccountsTable, Database } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { Account, AccountsRepo } from './types.ts';

const COLUMNS = ['id', 'name', 'namespace', 'created_at'] as const;

/** Accounts over Kysely. create throws AppError CONFLICT when the namespace is taken. */
export function accountsRepo(db: Kysely<Database>): AccountsRepo {
  const select = () => db.selectFrom('accounts').select(COLUMNS);
  return {
    async create({ name, namespace }) {
      const row = { id: randomId(), name, namespace, created_at: nowIso() };
      try {
        await db.insertInto('accounts').values(row).execute();
      } catch (err) {
        rethrowViolation(err, { unique: () => `namespace "${namespace}" is already taken; choose another` });
      }
      return toAccount(row);
    },
    async get(id) {
      const row = await select().where('id', '=', id).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async getByNamespace(namespace) {
      const row = await select().where('namespace', '=', namespace).executeTakeFirst();
      return row ? toAccount(row) : null;
    },
    async list() {
      const rows = await select().orderBy('namespace').execute();
      return rows.map(toAccount);
    },
  };
}

/** Maps an accounts row to the domain type. */
export function toAccount(r: Selectable<AccountsTable>): Account {
  return { id: r.id, name: r.name, namespace: r.namespace, createdAt: r.created_at };
}
