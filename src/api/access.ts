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

/** The application `slug` of account `namespace` when the user has `min` role there. NOT_FOUND otherwise. */
export async function appFor(metadata: Metadata, user: ApiUser, namespace: string, slug: string, min: Role) {
  const { account, role } = await accountFor(metadata, user, namespace, min);
  const app = await metadata.applications.getBySlug(account.id, slug);
  if (!app) throw new AppError('NOT_FOUND', `application ${slug} not found in ${namespace}`);
  return { account, app, role };
}

/** The build `id` when the user may see its account (with `min` role). NOT_FOUND otherwise. */
export async function buildFor(metadata: Metadata, user: ApiUser, id: string, min: Role) {
  const build = await metadata.builds.get(id);
  const account = build ? await metadata.accounts.get(build.accountId) : null;
  if (!build || !account) throw new AppError('NOT_FOUND', `build ${id} not found`);
  const m = await metadata.memberships.get(account.id, user.id);
  if (!m && !user.isAdmin) throw new AppError('NOT_FOUND', `build ${id} not found`);
  if (!user.isAdmin && RANK[m!.role] < RANK[min]) throw new AppError('DENIED', `this needs the ${min} role in ${account.namespace}; you are ${m!.role}. Ask an owner.`);
  return { build, account };
}
