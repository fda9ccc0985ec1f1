import type { Kysely, Selectable } from 'kysely';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { fromJson, nowIso, toJson } from './codec.ts';
import type { ApplicationsTable, Database } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { Application, ApplicationsRepo } from './types.ts';

/**
 * Applications over Kysely. Slugs are stored as given (validating them is the caller's naming rule). create throws
 * AppError CONFLICT when the account already has the slug and NOT_FOUND when the account does not exist; setEnv
 * throws NOT_FOUND for an unknown application. list is ordered by slug.
 */
export function applicationsRepo(db: Kysely<Database>): ApplicationsRepo {
  const select = () => db.selectFrom('applications').selectAll();
  return {
    async create({ accountId, name, slug, env }) {
      const row = { id: randomId(), account_id: accountId, name, slug, env: toJson(env) ?? '{}', created_at: nowIso() };
      try {
        await db.insertInto('applications').values(row).execute();
      } catch (err) {
        rethrowViolation(err, {
          unique: () => `the account already has an application with slug "${slug}"`,
          missing: ['NOT_FOUND', `account ${accountId} does not exist`],
        });
      }
      return toApplication(row);
    },
    async get(id) {
      const row = await select().where('id', '=', id).executeTakeFirst();
      return row ? toApplication(row) : null;
    },
    async getBySlug(accountId, slug) {
      const row = await select().where('account_id', '=', accountId).where('slug', '=', slug).executeTakeFirst();
      return row ? toApplication(row) : null;
    },
    async list(accountId) {
      const rows = await select().where('account_id', '=', accountId).orderBy('slug').execute();
      return rows.map(toApplication);
    },
    async setEnv(id, env) {
      const row = await db
        .updateTable('applications')
        .set({ env: toJson(env) ?? '{}' })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new AppError('NOT_FOUND', `application ${id} does not exist`);
      return toApplication(row);
    },
  };
}

/** Maps an applications row to the domain type. */
export function toApplication(r: Selectable<ApplicationsTable>): Application {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    slug: r.slug,
    env: fromJson<Record<string, string>>(r.env) ?? {},
    createdAt: r.created_at,
  };
}
