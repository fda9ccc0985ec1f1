import { AppError, isAppError } from '../core/errors.ts';
import { isRepositoryName, slugify } from '../core/reference.ts';
import { ROLES, type Account, type Membership, type Metadata, type Role } from '../metadata/types.ts';
import type { AuthCache } from './cache.ts';

/** Accounts (teams, each owning one namespace) and who belongs to them. */
export interface Accounts {
  /**
   * Creates an account whose namespace is `namespace` or, when omitted, slugify(name).
   * Throws AppError INVALID for an empty name, an unusable namespace or a reserved one (see reservedNamespace),
   * DENIED for a base-image namespace unless `byAdmin`, CONFLICT when the namespace is taken.
   */
  createAccount(name: string, namespace?: string, opts?: { byAdmin?: boolean }): Promise<Account>;
  /**
   * Adds or changes a membership. Throws INVALID for an unknown role, NOT_FOUND for an unknown account or user,
   * CONFLICT when it would demote the account's last owner.
   */
  setMembership(m: { accountId: string; userId: string; role: string }): Promise<Membership>;
  /** Removes a membership. Throws NOT_FOUND when the user is not a member, CONFLICT for the account's last owner. */
  removeMembership(accountId: string, userId: string): Promise<void>;
}

/**
 * Namespaces no account may take: they name BuildGrid's own paths and roles, or would pass for an official source
 * of images. Matched exactly (namespaces are lower case); "library-fans" is fine.
 */
export const BUILTIN_RESERVED_NAMESPACES: readonly string[] = [
  'library', 'mirror', 'admin', 'administrator', 'api', 'v1', 'v2', 'buildgrid', 'static', 'assets', '_catalog', 'token',
  'auth', 'login', 'healthz', 'readyz', 'livez', 'metrics', 'www', 'root', 'system', 'registry', 'docs',
];

/** Which namespaces are reserved: `base` (baseNamespaces and `library`) only an administrator may create; `others` nobody. */
export interface ReservedNamespaces { base: readonly string[]; others: readonly string[] }

/**
 * The reserved namespaces from configuration: `library` and every base namespace (administrators only), the built-in
 * list and `extra` (nobody).
 */
export function reservedNamespaces(baseNamespaces: readonly string[], extra: readonly string[] = []): ReservedNamespaces {
  const base = [...new Set(['library', ...baseNamespaces.map((n) => n.toLowerCase())])];
  const others = [...new Set([...BUILTIN_RESERVED_NAMESPACES, ...extra.map((n) => n.toLowerCase())])].filter((n) => !base.includes(n));
  return { base, others };
}

/** 'base' or 'reserved' when `ns` is reserved (see reservedNamespaces), else null. */
export function reservedNamespace(ns: string, reserved: ReservedNamespaces): 'base' | 'reserved' | null {
  const n = ns.toLowerCase();
  return reserved.base.includes(n) ? 'base' : reserved.others.includes(n) ? 'reserved' : null;
}

const MAX_NAME = 100;
const MAX_NAMESPACE = 63;

/** True when `ns` is usable as a namespace: one OCI name component of at most 63 characters. */
export function isNamespace(ns: string): boolean {
  return ns.length > 0 && ns.length <= MAX_NAMESPACE && !ns.includes('/') && isRepositoryName(ns);
}

/** The accounts half of the people service. */
export function createAccounts(opts: { metadata: Metadata; cache: AuthCache; reserved?: ReservedNamespaces }): Accounts {
  const { metadata, cache } = opts;
  const reserved = opts.reserved ?? reservedNamespaces(['library']);

  const taken = (ns: string) =>
    new AppError('CONFLICT', `the namespace "${ns}" is already taken: choose another account name (or give another namespace)`);

  /** Throws CONFLICT when `userId` is the only owner of the account. */
  async function keepAnOwner(accountId: string, userId: string, action: 'demote' | 'remove'): Promise<void> {
    const members = await metadata.memberships.listForAccount(accountId);
    if (members.some((x) => x.role === 'owner' && x.userId !== userId)) return;
    const who = members.find((x) => x.userId === userId)?.email ?? userId;
    throw await lastOwner(accountId, who, action);
  }

  /**
   * Two owners demoting each other at once both pass keepAnOwner: whoever finds no owner left afterwards puts their
   * change back, so an account is never left without an owner.
   */
  async function undoIfOwnerless(before: Membership, action: 'demote' | 'remove'): Promise<void> {
    const members = await metadata.memberships.listForAccount(before.accountId);
    if (members.some((x) => x.role === 'owner')) return;
    await metadata.memberships.set(before);
    cache.invalidate();
    throw await lastOwner(before.accountId, (await metadata.users.get(before.userId))?.email ?? before.userId, action);
  }

  async function lastOwner(accountId: string, who: string, action: 'demote' | 'remove'): Promise<AppError> {
    const ns = (await metadata.accounts.get(accountId))?.namespace ?? accountId;
    return new AppError('CONFLICT', `cannot ${action} ${who}: they are the last owner of ${ns}, and an account needs one. `
      + `Promote someone else to owner first (\`buildgrid users add EMAIL --account ${ns} --role owner\`)`);
  }

  return {
    async createAccount(rawName, explicitNamespace, createOpts = {}) {
      const name = rawName.trim();
      if (name.length === 0 || name.length > MAX_NAME) {
        throw new AppError('INVALID', `an account name must be 1 to ${MAX_NAME} characters`);
      }
      if (/\p{Cc}/u.test(name)) throw new AppError('INVALID', 'an account name must not contain control characters (line breaks, tabs, …)');
      const namespace = explicitNamespace === undefined ? slugify(name) : explicitNamespace.trim();
      if (!isNamespace(namespace)) {
        throw new AppError(
          'INVALID',
          explicitNamespace === undefined
            ? `the account name "${name}" gives no usable namespace: use a name with letters or digits, or give a namespace`
            : `invalid namespace "${namespace.slice(0, 80)}": use up to ${MAX_NAMESPACE} lowercase letters, digits and separators (. _ -), starting and ending with a letter or digit`,
        );
      }
      const instead = explicitNamespace === undefined
        ? 'give the account another namespace (`namespace` in the API, `--namespace` in the CLI)' : 'choose another namespace';
      const kind = reservedNamespace(namespace, reserved);
      if (kind === 'reserved') {
        throw new AppError('INVALID', `the namespace "${namespace}" is reserved (BuildGrid's own names, and names that look official): ${instead}`);
      }
      if (kind === 'base' && !createOpts.byAdmin) {
        throw new AppError('DENIED', `the namespace "${namespace}" is reserved for base images every build may pull: only an administrator can create it; ${instead}`);
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
      const before = await metadata.memberships.get(accountId, userId);
      const demotes = before?.role === 'owner' && m.role !== 'owner';
      if (demotes) await keepAnOwner(accountId, userId, 'demote');
      await metadata.memberships.set(m);
      cache.invalidate();
      if (demotes) await undoIfOwnerless(before, 'demote');
      return m;
    },

    async removeMembership(accountId, userId) {
      const before = await metadata.memberships.get(accountId, userId);
      if (!before) throw new AppError('NOT_FOUND', `user ${userId} is not a member of account ${accountId}`);
      if (before.role === 'owner') await keepAnOwner(accountId, userId, 'remove');
      await metadata.memberships.remove(accountId, userId);
      cache.invalidate();
      if (before.role === 'owner') await undoIfOwnerless(before, 'remove');
    },
  };
}
