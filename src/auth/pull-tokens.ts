import { AppError, isAppError } from '../core/errors.ts';
import { hashSecret, newSecret } from '../core/ids.ts';
import { isRepositoryName, namespaceOf, slugify } from '../core/reference.ts';
import type { Metadata, PullToken } from '../metadata/types.ts';
import type { AuthCache } from './cache.ts';

/**
 * Pull tokens: named, revocable, pull-only registry credentials for machines. The username is
 * `<namespace>+<slug(name)>` (a `+` never appears in a user's registry username, so the two cannot collide);
 * the password `bgp_…` is shown once and stored as its SHA-256.
 */

/** What creating a pull token returns: its record plus the credentials, shown this one time. */
export interface NewPullToken { token: PullToken; username: string; password: string }

/** Pull-token management, per account. */
export interface PullTokens {
  /**
   * Creates a pull token. `repositories` (full `namespace/repo` names inside the account's namespace) limits it;
   * omitted, null or empty means every repository of the account. `expiresAt` is an ISO time in the future.
   * Throws INVALID for a bad name, repository or expiry, NOT_FOUND for an unknown account, CONFLICT for a name in use.
   */
  createPullToken(input: {
    accountId: string;
    name: string;
    repositories?: string[] | null;
    expiresAt?: string | null;
  }): Promise<NewPullToken>;
  /** The account's pull tokens, revoked ones included (with revokedAt). */
  listPullTokens(accountId: string): Promise<PullToken[]>;
  /** Revokes a token; it stops working at once on this node. Throws NOT_FOUND for an unknown id. */
  revokePullToken(id: string): Promise<PullToken>;
}

export const PULL_TOKEN_PREFIX = 'bgp_';
const MAX_NAME = 100;
const MAX_REPOSITORIES = 100;

/** The pull-token part of the people service. */
export function createPullTokens(opts: { metadata: Metadata; cache: AuthCache; now: () => number }): PullTokens {
  const { metadata, cache, now } = opts;

  const checkRepositories = (namespace: string, repos: string[] | null | undefined): string[] | null => {
    if (!repos || repos.length === 0) return null;
    if (repos.length > MAX_REPOSITORIES) {
      throw new AppError('INVALID', `a pull token may list at most ${MAX_REPOSITORIES} repositories: omit the list to allow all of them`);
    }
    for (const r of repos) {
      if (!isRepositoryName(r) || !r.includes('/') || namespaceOf(r) !== namespace) {
        throw new AppError(
          'INVALID',
          `"${String(r).slice(0, 80)}" is not a repository of this account: give full names such as ${namespace}/app.repo`,
        );
      }
    }
    return [...new Set(repos)].sort();
  };

  const checkExpiry = (expiresAt: string | null | undefined): string | null => {
    if (expiresAt === undefined || expiresAt === null) return null;
    const t = Date.parse(expiresAt);
    if (Number.isNaN(t)) throw new AppError('INVALID', `invalid expiry "${expiresAt.slice(0, 40)}": use an ISO-8601 time`);
    if (t <= now()) throw new AppError('INVALID', 'the expiry must be in the future');
    return new Date(t).toISOString();
  };

  return {
    async createPullToken(input) {
      const name = input.name.trim();
      const slug = slugify(name);
      if (name.length > MAX_NAME || slug === '') {
        throw new AppError('INVALID', `a pull token name must be 1 to ${MAX_NAME} characters and contain letters or digits`);
      }
      const account = await metadata.accounts.get(input.accountId);
      if (!account) throw new AppError('NOT_FOUND', `account ${input.accountId} not found`);
      const repositories = checkRepositories(account.namespace, input.repositories);
      const expiresAt = checkExpiry(input.expiresAt);
      const username = `${account.namespace}+${slug}`;
      const password = newSecret('bgp');
      try {
        const token = await metadata.pullTokens.create({
          accountId: account.id, name, username, secretHash: hashSecret(password), repositories, expiresAt,
        });
        return { token, username, password };
      } catch (err) {
        if (isAppError(err, 'CONFLICT')) {
          throw new AppError('CONFLICT', `a pull token named "${slug}" already exists in this account: choose another name`);
        }
        throw err;
      }
    },

    async listPullTokens(accountId) {
      return metadata.pullTokens.list(accountId);
    },

    async revokePullToken(id) {
      const token = await metadata.pullTokens.get(id);
      if (!token) throw new AppError('NOT_FOUND', `pull token ${id} not found`);
      if (token.revokedAt === null) {
        await metadata.pullTokens.revoke(id);
        cache.invalidate();
      }
      return (await metadata.pullTokens.get(id)) ?? token;
    },
  };
}
