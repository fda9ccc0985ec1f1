import { AppError } from '../core/errors.ts';
import { hashSecret } from '../core/ids.ts';
import type { Metadata } from '../metadata/types.ts';
import { createAuthCache, ExpiringMap, type AuthCache } from './cache.ts';
import { createCredentialStore, INVALID_CREDENTIALS } from './credentials.ts';
import { JOB_TOKEN_PREFIX, type JobTokens } from './job-tokens.ts';
import { limitKey, type LoginLimiter } from './ratelimit.ts';
import type { Authenticated, CredentialRef, Principal, RegistryAuthenticator } from './types.ts';

export { API_TOKEN_NOT_ADMIN, INVALID_CREDENTIALS } from './credentials.ts';

/**
 * Basic-auth credentials on /v2 and at the token endpoint (the checks themselves are in credentials.ts), with two
 * caches and the failed-login limiter.
 *
 * Caches. Docker clients send Basic credentials on every request of a pull, so a successful verification is reused for
 * `cacheTtlMs` (default 5 s) under sha256(username, password). `recheck` — asked on every request that carries a bearer
 * token — reuses its answer for `recheckTtlMs` (default 2 s). Rotation, revocation and membership changes call
 * `AuthCache.invalidate()` (people.ts), so on this node they take effect at once; another node sees them when its entry
 * expires. Job tokens are never cached: their build's row is read on every use (one primary-key lookup per registry
 * request of a build), so a token stops at the request after its build ends.
 *
 * Limits. Failures count per client address and username (ratelimit.ts). A job token never meets the limiter (its
 * MAC is checked first, and a forged one costs nothing to refuse), so a build cannot be locked out by another build
 * guessing from the same address. A lockout never refuses a valid credential: every registry secret is 256 random
 * bits, so guessing one online is hopeless whatever the limit, and refusing it would only let a stranger lock its
 * owner out. While locked, a wrong password is answered 429 with the time left, and a password that is not even shaped
 * like a BuildGrid secret costs no lookup.
 */

export interface RegistryAuthenticatorOptions {
  metadata: Metadata;
  /** Verifies builders' job tokens (`bgj_…`); without it they are refused. */
  jobTokens?: JobTokens;
  limiter: LoginLimiter;
  /** Shared invalidation switch (the one given to the people service). */
  cache?: AuthCache;
  /** How long a successful verification is reused, ms (default 5000; 0 disables the cache). */
  cacheTtlMs?: number;
  /** How long a recheck of a credential is reused, ms (default 2000; 0 disables it). Job tokens are never reused. */
  recheckTtlMs?: number;
  /** Most cached verifications and rechecks, each (default 10 000). */
  maxCacheEntries?: number;
  now?: () => number;
}

/** A RegistryAuthenticator plus `invalidate()`, which forgets every cached verification. */
export type CachingRegistryAuthenticator = RegistryAuthenticator & { invalidate(): void };

/** Creates the registry authenticator. */
export function createRegistryAuthenticator(opts: RegistryAuthenticatorOptions): CachingRegistryAuthenticator {
  const { metadata, limiter } = opts;
  const cache = opts.cache ?? createAuthCache();
  const now = opts.now ?? Date.now;
  const ttl = opts.cacheTtlMs ?? 5000;
  const recheckTtl = opts.recheckTtlMs ?? 2000;
  const maxEntries = opts.maxCacheEntries ?? 10_000;
  const verified = new ExpiringMap<Authenticated>({ maxEntries, cache });
  const rechecked = new ExpiringMap<Principal | null>({ maxEntries, cache });
  const store = createCredentialStore({ metadata, jobTokens: opts.jobTokens, now });

  async function authenticateJob(username: string, password: string): Promise<Authenticated> {
    const result = await store.verify(username, password);
    if (!result) {
      throw new AppError('UNAUTHORIZED', 'this build\'s registry token is not valid (any more): job tokens stop when their build ends');
    }
    return { principal: result.principal, credential: result.credential };
  }

  return {
    async authenticate(username, password, source) {
      if (password.startsWith(JOB_TOKEN_PREFIX)) return authenticateJob(username, password);
      const key = hashSecret(`${username}\u0000${password}`);
      const hit = verified.get(key, now());
      if (hit) return hit;
      const limit = limitKey(source, username);
      const lockedFor = limiter.lockedFor(limit);
      const generation = verified.generation;
      const result = await store.verify(username, password);
      if (!result) {
        // While locked out, failures are refused without counting (as before the lockout, they would only lengthen it).
        if (lockedFor > 0) limiter.check(limit); // throws TOOMANYREQUESTS with the time left
        limiter.recordFailure(limit);
        throw new AppError('UNAUTHORIZED', INVALID_CREDENTIALS);
      }
      const found: Authenticated = { principal: result.principal, credential: result.credential };
      if (ttl > 0) verified.set(key, found, Math.min(now() + ttl, result.expiresAt ?? Infinity), generation);
      return found;
    },

    async recheck(credential: CredentialRef) {
      if (credential.kind === 'job' || recheckTtl <= 0) return store.recheck(credential);
      const key = JSON.stringify(credential);
      const t = now();
      const hit = rechecked.get(key, t);
      if (hit !== undefined) return hit;
      const generation = rechecked.generation;
      const principal = await store.recheck(credential);
      rechecked.set(key, principal, t + recheckTtl, generation);
      return principal;
    },

    invalidate() {
      cache.invalidate();
      verified.clear();
      rechecked.clear();
    },
  };
}
