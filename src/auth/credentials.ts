import { AppError } from '../core/errors.ts';
import { hashSecret, safeEqual } from '../core/ids.ts';
import { RUNNING_STATUSES, type Metadata, type PullToken } from '../metadata/types.ts';
import { API_TOKEN_PREFIX, findApiToken, userPrincipal } from './api-tokens.ts';
import { JOB_TOKEN_PREFIX, type JobTokens } from './job-tokens.ts';
import type { Authenticated, CredentialRef, Principal } from './types.ts';

/**
 * The registry's credentials against the store, without caches or limits (registry-auth.ts adds those): `verify`
 * checks a username and password, `recheck` asks whether a credential proved earlier still stands. Both read the
 * database (or, for job tokens, the build row), so every server node of a cluster gives the same answer.
 *
 * Four kinds, told apart without a lookup: a password starting `bgj_` is a job token (any username), `bga_` an API
 * token (any username; administrators only), a username containing `+` a pull token (`<namespace>+<name>`); anything
 * else is a user's registry username. Every secret BuildGrid issues is `<prefix>_` + 43 base64url characters (256
 * random bits), so a password of another shape is refused without a lookup.
 */

export const INVALID_CREDENTIALS =
  'invalid BuildGrid credentials: use the registry username and password from Settings → BuildGrid Settings or `buildgrid credentials show`';

/** Why an API token of a person who is not an administrator is refused as a registry password. */
export const API_TOKEN_NOT_ADMIN =
  'API tokens are registry passwords for administrators only (for everyone else the registry is read-only): pull with your registry username and password (Settings → BuildGrid Settings or `buildgrid credentials show`)';

const SECRET_SHAPE = /^bg[rpa]_[A-Za-z0-9_-]{43}$/;

/** A verified credential plus the time (ms) it stops being valid by itself, if it expires. */
export type Verified = Authenticated & { expiresAt: number | null };

/** Store-backed checks of registry credentials. */
export interface CredentialStore {
  /**
   * The credential for username/password, or null when it is wrong, revoked, expired or of an unknown shape. Throws
   * AppError UNAUTHORIZED (API_TOKEN_NOT_ADMIN) for a genuine API token of a person who is not an administrator.
   */
  verify(username: string, password: string): Promise<Verified | null>;
  /** The current principal behind `ref`, or null when it no longer stands (see RegistryAuthenticator.recheck). */
  recheck(ref: CredentialRef): Promise<Principal | null>;
}

/** Which rotation of a registry password a hash belongs to, without revealing the hash (it goes into bearer tokens). */
export function passwordFingerprint(secretHash: string): string {
  return hashSecret(`registry-password ${secretHash}`).slice(0, 24);
}

/** Creates the store-backed checks. Job tokens are refused when `jobTokens` is absent. */
export function createCredentialStore(opts: { metadata: Metadata; jobTokens?: JobTokens; now: () => number }): CredentialStore {
  const { metadata, now } = opts;
  const expiryOf = (iso: string | null) => (iso === null ? null : Date.parse(iso));

  async function pullPrincipal(t: PullToken): Promise<Verified | null> {
    const expiresAt = expiryOf(t.expiresAt);
    if (t.revokedAt !== null || (expiresAt !== null && expiresAt <= now())) return null;
    const account = await metadata.accounts.get(t.accountId);
    if (!account) return null;
    const principal: Principal = {
      kind: 'pull-token', id: t.id, accountId: t.accountId, namespace: account.namespace, repositories: t.repositories,
    };
    return { principal, credential: { kind: 'pull-token', id: t.id }, expiresAt };
  }

  // A job token counts while its build runs under the claim it was issued for: a finished build (succeeded, failed,
  // cancelled) or one requeued or claimed again after its worker was lost makes it stale. Its one tag is the commit
  // written in the token, or else the commit the worker recorded on the build after checking it out.
  async function jobPrincipal(ref: Extract<CredentialRef, { kind: 'job' }>): Promise<Principal | null> {
    const build = await metadata.builds.get(ref.buildId);
    if (!build || build.attempt !== ref.attempt || !RUNNING_STATUSES.includes(build.status)) return null;
    return { kind: 'job', id: ref.buildId, repository: ref.repository, pullNamespaces: ref.pullNamespaces, tag: ref.tag ?? build.commit };
  }

  async function apiToken(token: string): Promise<Verified | null> {
    const found = await findApiToken(metadata, token);
    if (!found) return null;
    if (found.principal.kind !== 'user' || !found.principal.isAdmin) throw new AppError('UNAUTHORIZED', API_TOKEN_NOT_ADMIN);
    return { principal: found.principal, credential: { kind: 'api-token', id: found.apiToken.id }, expiresAt: expiryOf(found.apiToken.expiresAt) };
  }

  async function verify(username: string, password: string): Promise<Verified | null> {
    if (password.startsWith(JOB_TOKEN_PREFIX)) {
      const ref = opts.jobTokens?.verify(password) ?? null;
      const principal = ref && (await jobPrincipal(ref));
      return principal && { principal, credential: ref!, expiresAt: null };
    }
    if (!SECRET_SHAPE.test(password)) return null;
    if (password.startsWith(API_TOKEN_PREFIX)) return apiToken(password);
    if (username === '') return null;
    if (username.includes('+')) {
      const t = await metadata.pullTokens.getByUsername(username);
      const match = safeEqual(hashSecret(password), t?.secretHash ?? '0'.repeat(64));
      return t && match ? pullPrincipal(t) : null;
    }
    const u = await metadata.users.getByRegistryUsername(username);
    const match = safeEqual(hashSecret(password), u?.registrySecretHash ?? '0'.repeat(64));
    if (!u || !match) return null;
    const credential: CredentialRef = { kind: 'registry-password', userId: u.id, fingerprint: passwordFingerprint(u.registrySecretHash) };
    return { principal: userPrincipal(u), credential, expiresAt: null };
  }

  async function recheck(ref: CredentialRef): Promise<Principal | null> {
    switch (ref.kind) {
      case 'job':
        return jobPrincipal(ref);
      case 'pull-token': {
        const t = await metadata.pullTokens.get(ref.id);
        return t ? ((await pullPrincipal(t))?.principal ?? null) : null;
      }
      case 'api-token': {
        const t = await metadata.apiTokens.findLive(ref.id);
        const u = t && (await metadata.users.get(t.userId));
        return u && u.isAdmin ? userPrincipal(u) : null;
      }
      case 'registry-password': {
        const u = await metadata.users.get(ref.userId);
        const secrets = u && (await metadata.users.getByRegistryUsername(u.registryUsername));
        if (!secrets || secrets.id !== ref.userId) return null;
        return safeEqual(passwordFingerprint(secrets.registrySecretHash), ref.fingerprint) ? userPrincipal(secrets) : null;
      }
    }
  }

  return { verify, recheck };
}
