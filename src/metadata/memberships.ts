import type { Kysely } from 'kysely';
import { AppError } from '../core/errors.ts';
import type { Database } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import { ROLES, type MembershipsRepo, type Role } from './types.ts';

/** Memberships over Kysely. set throws AppError INVALID for an unknown role, NOT_FOUND for a missing account or user. */
export function membershipsRepo(db: Kysely<Database>): MembershipsRepo {
  return {
    async set({ accountId, userId, role }) {
      if (!ROLES.includes(role)) throw new AppError('INVALID', `unknown role "${role}": use one of ${ROLES.join(', ')}`);
      try {
        await db
          .insertInto('memberships')
          .values({ account_id: accountId, user_id: userId, role })
          .onConflict((oc) => oc.columns(['account_id', 'user_id']).doUpdateSet({ role }))
          .execute();
      } catch (err) {
        rethrowViolation(err, { missing: ['NOT_FOUND', `account ${accountId} or user ${userId} does not exist`] });
      }
    },
    async remove(accountId, userId) {
      await db.deleteFrom('memberships').where('account_id', '=', accountId).where('user_id', '=', userId).execute();
    },
    async get(accountId, userId) {
      const row = await db
        .selectFrom('memberships')
        .select(['account_id', 'user_id', 'role'])
        .where('account_id', '=', accountId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return row ? { accountId: row.account_id, userId: row.user_id, role: row.role as Role } : null;
    },
    async listForUser(userId) {
      const rows = await db
        .selectFrom('memberships as m')
        .innerJoin('accounts as a', 'a.id', 'm.account_id')
        .select(['m.account_id', 'm.user_id', 'm.role', 'a.namespace', 'a.name'])
        .where('m.user_id', '=', userId)
        .orderBy('a.namespace')
        .execute();
      return rows.map((r) => ({
        accountId: r.account_id,
        userId: r.user_id,
        role: r.role as Role,
        namespace: r.namespace,
        accountName: r.name,
      }));
    },
    async listForAccount(accountId) {
      const rows = await db
        .selectFrom('memberships as m')
        .innerJoin('users as u', 'u.id', 'm.user_id')
        .select(['m.account_id', 'm.user_id', 'm.role', 'u.email'])
        .where('m.account_id', '=', accountId)
        .orderBy('u.email')
        .execute();
      return rows.map((r) => ({ accountId: r.account_id, userId: r.user_id, role: r.role as Role, email: r.email }));
    },
  };
}
