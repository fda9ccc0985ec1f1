import { isRepositoryName, namespaceOf } from '../core/reference.ts';
import type { Metadata } from '../metadata/types.ts';
import { createAuthCache, ExpiringMap, type AuthCache } from './cache.ts';
import type { AccessRules, Action, Principal } from './types.ts';

/**
 * Who may do what in the registry:
 *
 * | principal   | pull                                               | push | delete |
 * |-------------|----------------------------------------------------|------|--------|
 * | admin user  | everything                                         | yes  | yes    |
 * | user        | namespaces of accounts they belong to (any role)   | no   | no     |
 * | pull token  | its account's namespace, only its list when set    | no   | no     |
 * | job         | its repository; pull-only in its pullNamespaces    | yes  | no     |
 * | any but pull tokens | mirror/… (cached upstream images)         | no   | no     |
 *
 * A job pushes blobs and manifests by digest freely, but sets one tag only: its build's commit (`tagRefusal`).
 *
 * Repositories live at `<namespace>/<name>`; a bare name without `/` is in no account's namespace.
 * A user's namespaces are cached for `cacheTtlMs` (default 2 s) because this runs on every registry request;
 * membership changes call `AuthCache.invalidate()`.
 */

export interface AccessRulesOptions {
  metadata: Metadata;
  cache?: AuthCache;
  /** How long a user's namespaces are reused, ms (default 2000; 0 disables the cache). */
  cacheTtlMs?: number;
  /** Most users cached (default 10 000). */
  maxCacheEntries?: number;
  now?: () => number;
}

/** The read-only namespace of cached upstream images (registry/mirror/). */
export const MIRROR_NAMESPACE = 'mirror';
const ALL: readonly Action[] = ['pull', 'push', 'delete'];
const PULL: readonly Action[] = ['pull'];
const PULL_PUSH: readonly Action[] = ['pull', 'push'];

/** AccessRules plus `invalidate()`, which forgets cached memberships. */
export type CachingAccessRules = AccessRules & { invalidate(): void };

/** Creates the access rules. */
export function createAccessRules(opts: AccessRulesOptions): CachingAccessRules {
  const { metadata } = opts;
  const cache = opts.cache ?? createAuthCache();
  const now = opts.now ?? Date.now;
  const ttl = opts.cacheTtlMs ?? 2000;
  const namespacesByUser = new ExpiringMap<Set<string>>({ maxEntries: opts.maxCacheEntries ?? 10_000, cache });

  async function userNamespaces(userId: string): Promise<Set<string>> {
    const hit = namespacesByUser.get(userId, now());
    if (hit) return hit;
    const generation = namespacesByUser.generation;
    const memberships = await metadata.memberships.listForUser(userId);
    const set = new Set(memberships.map((m) => m.namespace));
    if (ttl > 0) namespacesByUser.set(userId, set, now() + ttl, generation);
    return set;
  }

  async function allowed(p: Principal, name: string): Promise<readonly Action[]> {
    if (!isRepositoryName(name)) return [];
    // The pull-through cache of public base images: every signed-in user and every build may pull it; nobody may push
    // or delete there (only the cache itself writes it), administrators included. Pull tokens stay within their account.
    if (namespaceOf(name) === MIRROR_NAMESPACE) return p.kind === 'pull-token' ? [] : PULL;
    if (p.kind === 'user' && p.isAdmin) return ALL;
    if (p.kind === 'job') {
      if (name === p.repository) return PULL_PUSH;
      return p.pullNamespaces.includes(namespaceOf(name)) ? PULL : [];
    }
    if (!name.includes('/')) return [];
    const ns = namespaceOf(name);
    if (p.kind === 'pull-token') {
      return ns === p.namespace && (p.repositories === null || p.repositories.includes(name)) ? PULL : [];
    }
    return (await userNamespaces(p.id)).has(ns) ? PULL : [];
  }

  return {
    async actionsFor(p, name) {
      return new Set(await allowed(p, name));
    },
    async listableNamespaces(p) {
      switch (p.kind) {
        case 'user':
          return p.isAdmin ? null : [...(await userNamespaces(p.id))].sort();
        case 'pull-token':
          return [p.namespace];
        case 'job':
          return [...new Set([namespaceOf(p.repository), ...p.pullNamespaces])].sort();
      }
    },
    tagRefusal(p, name, tag) {
      if (p.kind !== 'job' || p.tag === tag) return null;
      if (p.tag === null) {
        return `this build's registry token may push only the tag of its commit, which is not recorded yet: record the checked-out commit on the build before pushing`;
      }
      return `this build's registry token may push only the tag ${p.tag} of ${name} (its commit), not "${tag.slice(0, 128)}"`;
    },
    invalidate() {
      cache.invalidate();
      namespacesByUser.clear();
    },
  };
}
