import { AppError } from '../core/errors.ts';
import { hashSecret, safeEqual } from '../core/ids.ts';
import { JOB_TOKEN_PREFIX, type JobTokens } from './job-tokens.ts';
import type { Metadata } from '../metadata/types.ts';
import { API_TOKEN_PREFIX, findApiToken, userPrincipal } from './api-tokens.ts';
import { createAuthCache, ExpiringMap, type AuthCache } from './cache.ts';
import type { LoginLimiter } from './ratelimit.ts';
import type { Principal, RegistryAuthenticator } from './types.ts';

/**
 * Basic-auth credentials on /v2 and at the token endpoint. Three kinds, told apart without a lookup:
 * a password starting `bga_` is an API token (any username); a username containing `+` is a pull token
 * (`<namespace>+<name>`); anything else is a user's registry username.
 *
 * Successful verifications are cached for `cacheTtlMs` (default 5 s) under sha256(username, password), because
 * Docker clients send Basic credentials on every request of a pull. Rotation and revocation call
 * `AuthCache.invalidate()` (see people.ts), so on this node they take effect at once; another node sees them
 * when its entry expires, at most `cacheTtlMs` later.
 */

export const INVALID_CREDENTIALS =
  'invalid BuildGrid credentials: use the registry username and password from Settings → BuildGrid Settings or `buildgrid credentials show`';

export interface RegistryAuthenticatorOptions {
  metadata: Metadata;
  /** Verifies builders' job tokens (`bgj_…`); without it they are refused. */
  jobTokens?: JobTokens;
  limiter: LoginLimiter;
  /** Shared invalidation switch (the one given to the people service). */
  cache?: AuthCache;
  /** How long a successful verification is reused, ms (default 5000; 0 disables the cache). */
  cacheTtlMs?: number;
  /** Most cached verifications (default 10 000). */
  maxCacheEntries?: number;
  now?: () => number;
}

/** A RegistryAuthenticator plus `invalidate()`, which forgets every cached verification. */
export type CachingRegistryAuthenticator = RegistryAuthenticator & { invalidate(): void };

/** Verified principal plus the time (ms) its credential stops being valid, if it expires. */
type Verified = { principal: Principal; expiresAt: number | null };

/** Creates the registry authenticator. */
export function createRegistryAuthenticator(opts: RegistryAuthenticatorOptions): CachingRegistryAuthenticator {
  const { metadata, limiter } = opts;
  const cache = opts.cache ?? createAuthCache();
  const now = opts.now ?? Date.now;
  const ttl = opts.cacheTtlMs ?? 5000;
  const verified = new ExpiringMap<Principal>({ maxEntries: opts.maxCacheEntries ?? 10_000, cache });

  const expiryOf = (iso: string | null) => (iso === null ? null : Date.parse(iso));

  async function verifyPullToken(username: string, password: string): Promise<Verified | null> {
    const t = await metadata.pullTokens.getByUsername(username);
    const match = safeEqual(hashSecret(password), t?.secretHash ?? '0'.repeat(64));
    if (!t || !match || t.revokedAt !== null) return null;
    const expiresAt = expiryOf(t.expiresAt);
    if (expiresAt !== null && expiresAt <= now()) return null;
    const account = await metadata.accounts.get(t.accountId);
    if (!account) return null;
    const principal: Principal = {
      kind: 'pull-token', id: t.id, accountId: t.accountId, namespace: account.namespace, repositories: t.repositories,
    };
    return { principal, expiresAt };
  }

  async function verifyUser(username: string, password: string): Promise<Verified | null> {
    const u = await metadata.users.getByRegistryUsername(username);
    const match = safeEqual(hashSecret(password), u?.registrySecretHash ?? '0'.repeat(64));
    return u && match ? { principal: userPrincipal(u), expiresAt: null } : null;
  }

  async function verify(username: string, password: string): Promise<Verified | null> {
    if (password.startsWith(JOB_TOKEN_PREFIX)) {
      const principal = opts.jobTokens?.verify(password) ?? null;
      return principal && { principal, expiresAt: null };
    }
    if (password.startsWith(API_TOKEN_PREFIX)) {
      const found = await findApiToken(metadata, password);
      return found && { principal: found.principal, expiresAt: expiryOf(found.apiToken.expiresAt) };
    }
    if (username === '' || password === '') return null;
    return username.includes('+') ? verifyPullToken(username, password) : verifyUser(username, password);
  }

  return {
    async authenticate(username, password, source) {
      limiter.check(source);
      const key = hashSecret(`${username}\u0000${password}`);
      const hit = verified.get(key, now());
      if (hit) return hit;
      const generation = verified.generation;
      const result = await verify(username, password);
      if (!result) {
        limiter.recordFailure(source);
        throw new AppError('UNAUTHORIZED', INVALID_CREDENTIALS);
      }
      if (ttl > 0) {
        const until = Math.min(now() + ttl, result.expiresAt ?? Infinity);
        verified.set(key, result.principal, until, generation);
      }
      return result.principal;
    },
    invalidate() {
      cache.invalidate();
      verified.clear();
    },
  };
}
