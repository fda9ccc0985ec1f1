import type { Kysely, Selectable } from 'kysely';
import { randomId } from '../core/ids.ts';
import { fromJson, nowIso, toJson, toStoredTime } from './codec.ts';
import type { ApiTokensTable, Database, PullTokensTable } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { ApiToken, ApiTokensRepo, PullToken, PullTokenSecrets, PullTokensRepo } from './types.ts';

/**
 * REST API tokens over Kysely. findByHash and findLive return only live tokens: not revoked and not expired at call time.
 * create throws AppError INVALID for an unparsable expiresAt, NOT_FOUND for a missing user, CONFLICT for a reused hash.
 */
export function apiTokensRepo(db: Kysely<Database>): ApiTokensRepo {
  const findLive = async (column: 'id' | 'token_hash', value: string) => {
    const row = await db
      .selectFrom('api_tokens')
      .select(['id', 'user_id', 'name', 'created_at', 'expires_at'])
      .where(column, '=', value)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', nowIso())]))
      .executeTakeFirst();
    return row ? toApiToken(row) : null;
  };
  return {
    async create({ userId, name, tokenHash, expiresAt }) {
      const row = {
        id: randomId(),
        user_id: userId,
        name,
        token_hash: tokenHash,
        created_at: nowIso(),
        expires_at: toStoredTime(expiresAt, 'expiresAt'),
        revoked_at: null,
      };
      try {
        await db.insertInto('api_tokens').values(row).execute();
      } catch (err) {
        rethrowViolation(err, {
          unique: () => 'an API token with this secret already exists; generate a new secret',
          missing: ['NOT_FOUND', `user ${userId} does not exist`],
        });
      }
      return toApiToken(row);
    },
    async findByHash(tokenHash) {
      return findLive('token_hash', tokenHash);
    },
    async findLive(id) {
      return findLive('id', id);
    },
    async revoke(id) {
      await db.updateTable('api_tokens').set({ revoked_at: nowIso() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
  };
}

function toApiToken(r: Pick<Selectable<ApiTokensTable>, 'id' | 'user_id' | 'name' | 'created_at' | 'expires_at'>): ApiToken {
  return { id: r.id, userId: r.user_id, name: r.name, createdAt: r.created_at, expiresAt: r.expires_at };
}

const PULL_PUBLIC = ['id', 'account_id', 'name', 'username', 'repositories', 'created_at', 'expires_at', 'revoked_at'] as const;

/**
 * Pull tokens over Kysely. Lookups return revoked and expired tokens too (with revokedAt/expiresAt set): deciding
 * whether a credential is live is the auth layer's job. create throws AppError CONFLICT when the username is taken.
 */
export function pullTokensRepo(db: Kysely<Database>): PullTokensRepo {
  return {
    async create(input) {
      const row = {
        id: randomId(),
        account_id: input.accountId,
        name: input.name,
        username: input.username,
        secret_hash: input.secretHash,
        repositories: toJson(input.repositories),
        created_at: nowIso(),
        expires_at: toStoredTime(input.expiresAt, 'expiresAt'),
        revoked_at: null,
      };
      try {
        await db.insertInto('pull_tokens').values(row).execute();
      } catch (err) {
        rethrowViolation(err, {
          unique: () => `pull token username "${input.username}" is already taken`,
          missing: ['NOT_FOUND', `account ${input.accountId} does not exist`],
        });
      }
      return toPullToken(row);
    },
    async getByUsername(username) {
      const row = await db
        .selectFrom('pull_tokens')
        .select([...PULL_PUBLIC, 'secret_hash'])
        .where('username', '=', username)
        .executeTakeFirst();
      return row ? toPullTokenSecrets(row) : null;
    },
    async get(id) {
      const row = await db.selectFrom('pull_tokens').select(PULL_PUBLIC).where('id', '=', id).executeTakeFirst();
      return row ? toPullToken(row) : null;
    },
    async list(accountId) {
      const rows = await db
        .selectFrom('pull_tokens')
        .select(PULL_PUBLIC)
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toPullToken);
    },
    async revoke(id) {
      await db.updateTable('pull_tokens').set({ revoked_at: nowIso() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
  };
}

function toPullToken(r: Pick<Selectable<PullTokensTable>, (typeof PULL_PUBLIC)[number]>): PullToken {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    username: r.username,
    repositories: fromJson<string[]>(r.repositories),
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}

function toPullTokenSecrets(r: Selectable<PullTokensTable>): PullTokenSecrets {
  return { ...toPullToken(r), secretHash: r.secret_hash };
}
