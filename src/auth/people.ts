import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { AppError, isAppError } from '../core/errors.ts';
import { hashSecret, newSecret } from '../core/ids.ts';
import { slugify } from '../core/reference.ts';
import type { ApiToken, Metadata, User } from '../metadata/types.ts';
import { createAccounts, type Accounts, type ReservedNamespaces } from './accounts.ts';
import { findApiToken, issueApiToken } from './api-tokens.ts';
import { createAuthCache, type AuthCache } from './cache.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { createPullTokens, type PullTokens } from './pull-tokens.ts';
import { limitKey, type LoginLimiter } from './ratelimit.ts';
import { decryptSecret, encryptSecret } from './secretbox.ts';
import type { Principal } from './types.ts';

/** A user's BuildGrid (registry) credentials, separate from the dashboard login. */
export interface RegistryCredentials { username: string; password: string }

/** People: users, their sign-in and API tokens, and their registry credentials. */
export interface Users {
  /**
   * Creates a user with generated registry credentials (username from the email, e.g. `jane-7f3k`; password `bgr_…`).
   * Throws INVALID for a bad email or a password shorter than 8 characters, CONFLICT when the email is taken.
   */
  createUser(input: { email: string; password: string; isAdmin?: boolean }): Promise<User>;
  /**
   * Checks email and password and issues an API token (`bga_…`, returned once). Throws UNAUTHORIZED on a bad pair,
   * TOOMANYREQUESTS when this email failed too often from client address `source` (when a limiter is configured).
   */
  login(email: string, password: string, source: string): Promise<{ token: string; apiToken: ApiToken; user: User }>;
  /** Revokes the API token `token` (sign-out). Unknown tokens are ignored. */
  logout(token: string): Promise<void>;
  /** The user behind an API token. Throws UNAUTHORIZED when it is unknown, expired or revoked. */
  authenticateApiToken(token: string): Promise<Principal>;
  /** The user's registry username and password (decrypted). Throws NOT_FOUND for an unknown user. */
  registryCredentials(userId: string): Promise<RegistryCredentials>;
  /** Replaces the registry password; the old one stops working at once. Throws NOT_FOUND for an unknown user. */
  rotateRegistryPassword(userId: string): Promise<RegistryCredentials>;
}

/** The whole people service. */
export type People = Users & Accounts & PullTokens;

export interface PeopleOptions {
  metadata: Metadata;
  /** The server's 32-byte key that encrypts registry passwords. */
  secretKey: Uint8Array;
  /** Shared invalidation switch, also given to the registry authenticator and the access rules. */
  cache?: AuthCache;
  /** Failed-login limiter for `login` (keys per client address and email; the registry's share the object, not the keys). */
  limiter?: LoginLimiter;
  /** Namespaces accounts may not take (reservedNamespaces() in accounts.ts); default: the built-in list and `library`. */
  reservedNamespaces?: ReservedNamespaces;
  /** Lifetime of API tokens issued by `login`, seconds; null = no expiry. Default 30 days. */
  apiTokenTtlSeconds?: number | null;
  now?: () => number;
}

const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const emailSchema = z.email();

function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (email.length > 254 || !emailSchema.safeParse(email).success) {
    throw new AppError('INVALID', `invalid email address "${raw.slice(0, 80)}"`);
  }
  return email;
}

/** A registry username from an email: the slugified local part plus a short random suffix, e.g. `jane-7f3k`. */
export function registryUsernameFor(email: string): string {
  const base = slugify(email.split('@')[0] ?? '').slice(0, 24).replace(/-+$/, '') || 'user';
  let suffix = '';
  for (let i = 0; i < 4; i++) suffix += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return `${base}-${suffix}`;
}

// The registry password is bound to its username, so an encrypted value copied to another row does not decrypt.
const aadFor = (registryUsername: string) => `registry:${registryUsername}`;

/** A people service over the metadata store. */
export function createPeople(opts: PeopleOptions): People {
  const { metadata, secretKey, limiter } = opts;
  const cache = opts.cache ?? createAuthCache();
  const now = opts.now ?? Date.now;
  const ttl = opts.apiTokenTtlSeconds === undefined ? 30 * 86400 : opts.apiTokenTtlSeconds;
  // Unknown emails still pay for one scrypt, so response time does not reveal which emails exist.
  let dummyHash: Promise<string> | undefined;

  const newRegistrySecret = (username: string) => {
    const password = newSecret('bgr');
    return { password, hash: hashSecret(password), enc: encryptSecret(secretKey, password, aadFor(username)) };
  };

  const secretsOf = async (userId: string) => {
    const user = await metadata.users.get(userId);
    const secrets = user && (await metadata.users.getByRegistryUsername(user.registryUsername));
    if (!secrets) throw new AppError('NOT_FOUND', `user ${userId} not found`);
    return secrets;
  };

  const users: Users = {
    async createUser(input) {
      const email = normalizeEmail(input.email);
      if (input.password.length < MIN_PASSWORD || input.password.length > MAX_PASSWORD) {
        throw new AppError('INVALID', `a password must be ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`);
      }
      const emailTaken = () => new AppError('CONFLICT', `a user with the email ${email} already exists`);
      if (await metadata.users.getByEmail(email)) throw emailTaken();
      const passwordHash = await hashPassword(input.password);
      // The 4-character suffix gives 1.7 million names per base; a clash is rare, so a few retries suffice.
      for (let attempt = 0; ; attempt++) {
        const registryUsername = registryUsernameFor(email);
        const secret = newRegistrySecret(registryUsername);
        try {
          return await metadata.users.create({
            email, passwordHash, isAdmin: input.isAdmin ?? false, registryUsername,
            registrySecretHash: secret.hash, registrySecretEnc: secret.enc,
          });
        } catch (err) {
          if (!isAppError(err, 'CONFLICT')) throw err;
          if (await metadata.users.getByEmail(email)) throw emailTaken();
          if (attempt >= 5) throw err;
        }
      }
    },

    async login(rawEmail, password, source) {
      const email = rawEmail.trim().toLowerCase();
      // Dashboard passwords are chosen by people, so a locked-out address + email is refused even with the right
      // one (before scrypt runs); other users, and the same user from another address, are not affected.
      const limit = limitKey(`login ${source}`, email);
      limiter?.check(limit);
      const user = await metadata.users.getByEmail(email);
      const ok = user
        ? await verifyPassword(password, user.passwordHash)
        : await verifyPassword(password, await (dummyHash ??= hashPassword('no such user'))).then(() => false);
      if (!user || !ok) {
        limiter?.recordFailure(limit);
        throw new AppError('UNAUTHORIZED', 'invalid email or password');
      }
      const expiresAt = ttl === null ? null : new Date(now() + ttl * 1000).toISOString();
      const { token, apiToken } = await issueApiToken(metadata, { userId: user.id, name: `sign-in from ${source}`, expiresAt });
      const { passwordHash: _p, registrySecretHash: _h, registrySecretEnc: _e, ...plain } = user;
      return { token, apiToken, user: plain };
    },

    async logout(token) {
      const found = await findApiToken(metadata, token);
      if (!found) return;
      await metadata.apiTokens.revoke(found.apiToken.id);
      cache.invalidate();
    },

    async authenticateApiToken(token) {
      const found = await findApiToken(metadata, token);
      if (!found) throw new AppError('UNAUTHORIZED', 'invalid or expired API token: sign in again (`buildgrid login`)');
      return found.principal;
    },

    async registryCredentials(userId) {
      const s = await secretsOf(userId);
      return { username: s.registryUsername, password: decryptSecret(secretKey, s.registrySecretEnc, aadFor(s.registryUsername)) };
    },

    async rotateRegistryPassword(userId) {
      const s = await secretsOf(userId);
      const secret = newRegistrySecret(s.registryUsername);
      await metadata.users.setRegistrySecret(userId, { hash: secret.hash, enc: secret.enc });
      cache.invalidate();
      return { username: s.registryUsername, password: secret.password };
    },
  };

  return {
    ...users,
    ...createAccounts({ metadata, cache, reserved: opts.reservedNamespaces }),
    ...createPullTokens({ metadata, cache, now }),
  };
}
