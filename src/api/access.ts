import { AppError } from '../core/errors.ts';
import type { Account, Metadata, Role } from '../metadata/types.ts';
import type { ApiUser } from './context.ts';

const RANK: Record<Role, number> = { viewer: 1, developer: 2, owner: 3 };

/**
 * The account with `namespace` when `user` has at least `min` role in it (administrators always do). An account the
 * user cannot see is NOT_FOUND, exactly like one that does not exist; a visible account with too low a role is DENIED.
 */
export async function accountFor(metadata: Metadata, user: ApiUser, namespace: string, min: Role): Promise<{ account: Account; role: Role | null }> {
  const account = await metadata.accounts.getByNamespace(namespace);
  const m = account ? await metadata.memberships.get(account.id, user.id) : null;
  if (!account || (!m && !user.isAdmin)) throw new AppError('NOT_FOUND', `account ${namespace} not found`);
  if (!user.isAdmin && RANK[m!.role] < RANK[min]) {
    throw new AppError('DENIED', `this needs the ${min} role in ${namespace}; you are ${m!.role}. Ask an owner.`);
  }
  return { account, role: m?.role ?? null };
}

/** Throws DENIED unless the user is an administrator. */
export function requireAdmin(user: ApiUser): void {
  if (!user.isAdmin) throw new AppError('DENIED', 'only administrators may do this');
}
