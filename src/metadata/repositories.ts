import type { Kysely, Selectable } from 'kysely';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { namespaceOf, parseRepositoryName } from '../core/reference.ts';
import { nowIso, pageLimit } from './codec.ts';
import type { Database, RepositoriesTable } from './schema.ts';
import { compileOnce } from './compiled.ts';
import { hasRowLocks, lockKeys } from './locking.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { RepositoriesRepo, Repository } from './types.ts';

/**
 * Image repositories and their blob links over Kysely. get and hasBlob are on the registry's hot path: each is one
 * primary-key or unique-index lookup. ensure throws AppError NAME_INVALID for a name outside the OCI grammar;
 * linkBlob throws NAME_UNKNOWN when the repository does not exist.
 */
export function repositoriesRepo(db: Kysely<Database>): RepositoriesRepo {
  const rowLocks = hasRowLocks(db);
  const byName = compileOnce(db.selectFrom('repositories').select(['id', 'name', 'namespace', 'created_at']).where('name', '=', ''), 1);
  const blobLink = compileOnce(
    db.selectFrom('repository_blobs').select('repo_id').where('repo_id', '=', '').where('digest', '=', 'sha256:'),
    2,
  );

  async function get(name: string): Promise<Repository | null> {
    const { rows } = await db.executeQuery(byName(name));
    return rows[0] ? toRepository(rows[0]) : null;
  }

  return {
    get,
    async ensure(name) {
      const existing = await get(parseRepositoryName(name));
      if (existing) return existing;
      // Two first pushes may race: both insert, the loser's insert is ignored and both read the winner's row.
      await db
        .insertInto('repositories')
        .values({ id: randomId(), name, namespace: namespaceOf(name), created_at: nowIso() })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const created = await get(name);
      if (!created) throw new AppError('INTERNAL', `repository "${name}" vanished while being created`);
      return created;
    },
    async list({ last, limit, namespaces }) {
      const n = pageLimit(limit);
      if (n === 0 || namespaces?.length === 0) return [];
      let q = db.selectFrom('repositories').select('name').orderBy('name').limit(n);
      if (last !== undefined) q = q.where('name', '>', last);
      if (namespaces) q = q.where('namespace', 'in', namespaces);
      return (await q.execute()).map((r) => r.name);
    },
    async linkBlob(repositoryId, digest) {
      const insert = (q: Kysely<Database>) => q
        .insertInto('repository_blobs')
        .values({ repo_id: repositoryId, digest, created_at: nowIso() })
        .onConflict((oc) => oc.columns(['repo_id', 'digest']).doNothing())
        .execute();
      try {
        // PostgreSQL: exclusive with a garbage-collection sweep of this digest (lifecycle-gc.ts); SQLite needs no lock.
        if (rowLocks) {
          await db.transaction().execute(async (trx) => {
            await lockKeys(trx, [digest]);
            await insert(trx);
          });
        } else {
          await insert(db);
        }
      } catch (err) {
        rethrowViolation(err, { missing: ['NAME_UNKNOWN', `repository ${repositoryId} does not exist`] });
      }
    },
    async hasBlob(repositoryId, digest) {
      const { rows } = await db.executeQuery(blobLink(repositoryId, digest));
      return rows.length > 0;
    },
    async unlinkBlob(repositoryId, digest) {
      await db.deleteFrom('repository_blobs').where('repo_id', '=', repositoryId).where('digest', '=', digest).execute();
    },
  };
}

/** Maps a repositories row to the domain type. */
export function toRepository(r: Selectable<RepositoriesTable>): Repository {
  return { id: r.id, name: r.name, namespace: r.namespace, createdAt: r.created_at };
}
