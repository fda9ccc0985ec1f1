import type { Kysely, Selectable } from 'kysely';
import { randomId } from '../core/ids.ts';
import { nowIso } from './codec.ts';
import type { Database, UsersTable } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { User, UserSecrets, UsersRepo } from './types.ts';

const PUBLIC = ['id', 'email', 'is_admin', 'registry_username', 'created_at'] as const;
const SECRET = [...PUBLIC, 'password_hash', 'registry_secret_hash', 'registry_secret_enc'] as const;

/**
 * Users over Kysely. Emails and registry usernames are stored and matched exactly as given: normalising them
 * (case, whitespace) is the auth layer's policy. create throws AppError CONFLICT naming the taken field.
 */
export function usersRepo(db: Kysely<Database>): UsersRepo {
  const withSecrets = () => db.selectFrom('users').select(SECRET);
  return {
    async create(input) {
      const row = {
        id: randomId(),
        email: input.email,
        password_hash: input.passwordHash,
        is_admin: input.isAdmin ? 1 : 0,
        registry_username: input.registryUsername,
        registry_secret_hash: input.registrySecretHash,
        registry_secret_enc: input.registrySecretEnc,
        created_at: nowIso(),
      };
      try {
        await db.insertInto('users').values(row).execute();
      } catch (err) {
        rethrowViolation(err, {
          unique: (target) =>
            target.includes('registry_username')
              ? `registry username "${input.registryUsername}" is already taken`
              : `a user with email "${input.email}" already exists`,
        });
      }
      return toUser(row);
    },
    async get(id) {
      const row = await db.selectFrom('users').select(PUBLIC).where('id', '=', id).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async getByEmail(email) {
      const row = await withSecrets().where('email', '=', email).executeTakeFirst();
      return row ? toUserSecrets(row) : null;
    },
    async getByRegistryUsername(username) {
      const row = await withSecrets().where('registry_username', '=', username).executeTakeFirst();
      return row ? toUserSecrets(row) : null;
    },
    async list() {
      const rows = await db.selectFrom('users').select(PUBLIC).orderBy('email').execute();
      return rows.map(toUser);
    },
    async setPasswordHash(userId, hash) {
      await db.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute();
    },
    async setRegistrySecret(userId, secret) {
      await db
        .updateTable('users')
        .set({ registry_secret_hash: secret.hash, registry_secret_enc: secret.enc })
        .where('id', '=', userId)
        .execute();
    },
  };
}

type PublicRow = Pick<Selectable<UsersTable>, (typeof PUBLIC)[number]>;

/** Maps a users row to the public User (no secrets). */
export function toUser(r: PublicRow): User {
  return {
    id: r.id,
    email: r.email,
    // PostgreSQL drivers may hand back integers as strings or booleans; accept all truthy spellings of 1.
    isAdmin: Number(r.is_admin) === 1,
    registryUsername: r.registry_username,
    createdAt: r.created_at,
  };
}

function toUserSecrets(r: Selectable<UsersTable>): UserSecrets {
  return {
    ...toUser(r),
    passwordHash: r.password_hash,
    registrySecretHash: r.registry_secret_hash,
    registrySecretEnc: r.registry_secret_enc,
  };
}
