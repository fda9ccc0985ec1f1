import { AppError, isAppError } from '../core/errors.ts';
import { isRepositoryName, slugify } from '../core/reference.ts';
import { ROLES, type Account, type Membership, type Metadata, type Role } from '../metadata/types.ts';
import type { AuthCache } from './cache.ts';

/** Accounts (teams, each owning one namespace) and who belongs to them. */
export interface Accounts {
  /**
   * Creates an account whose namespace is `namespace` or, when omitted, slugify(name).
   * Throws AppError INVALID for an empty name or an unusable namespace, CONFLICT when the namespace is taken.
   */
  createAccount(name: string, namespace?: string): Promise<Account>;
  /** Adds or changes a membership. Throws INVALID for an unknown role, NOT_FOUND for an unknown account or user. */
  setMembership(m: { accountId: string; userId: string; role: string }): Promise<Membership>;
  /** Removes a membership. Throws NOT_FOUND when the user is not a member. */
  removeMembership(accountId: string, userId: string): Promise<void>;
}

const MAX_NAME = 100;
const MAX_NAMESPACE = 63;

/** True when `ns` is usable as a namespace: one OCI name component of at most 63 characters. */
export function isNamespace(ns: string): boolean {
  return ns.length > 0 && ns.length <= MAX_NAMESPACE && !ns.includes('/') && isRepositoryName(ns);
}

/** The accounts half of the people service. */
export function createAccounts(opts: { metadata: Metadata; cache: AuthCache }): Accounts {
  const { metadata, cache } = opts;

  const taken = (ns: string) =>
    new AppError('CONFLICT', `the namespace "${ns}" is already taken: choose another account name (or give another namespace)`);

  return {
    async createAccount(rawName, explicitNamespace) {
      const name = rawName.trim();
      if (name.length === 0 || name.length > MAX_NAME) {
        throw new AppError('INVALID', `an account name must be 1 to ${MAX_NAME} characters`);
      }
      const namespace = explicitNamespace === undefined ? slugify(name) : explicitNamespace.trim();
      if (!isNamespace(namespace)) {
        throw new AppError(
          'INVALID',
          explicitNamespace === undefined
            ? `the account name "${name}" gives no usable namespace: use a name with letters or digits, or give a namespace`
            : `invalid namespace "${namespace.slice(0, 80)}": use up to ${MAX_NAMESPACE} lowercase letters, digits and separators (. _ -), starting and ending with a letter or digit`,
        );
      }
      if (await metadata.accounts.getByNamespace(namespace)) throw taken(namespace);
      try {
        return await metadata.accounts.create({ name, namespace });
      } catch (err) {
        if (isAppError(err, 'CONFLICT')) throw taken(namespace); // lost a race with another create
        throw err;
      }
    },

    async setMembership({ accountId, userId, role }) {
      if (!(ROLES as readonly string[]).includes(role)) {
        throw new AppError('INVALID', `unknown role "${String(role).slice(0, 40)}": use one of ${ROLES.join(', ')}`);
      }
      if (!(await metadata.accounts.get(accountId))) throw new AppError('NOT_FOUND', `account ${accountId} not found`);
      if (!(await metadata.users.get(userId))) throw new AppError('NOT_FOUND', `user ${userId} not found`);
      const m: Membership = { accountId, userId, role: role as Role };
      await metadata.memberships.set(m);
      cache.invalidate();
      return m;
    },

    async removeMembership(accountId, userId) {
      if (!(await metadata.memberships.get(accountId, userId))) {
        throw new AppError('NOT_FOUND', `user ${userId} is not a member of account ${accountId}`);
      }
      await metadata.memberships.remove(accountId, userId);
      cache.invalidate();
    },
  };
}
