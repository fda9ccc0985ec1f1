import type { Kysely } from 'kysely';
import { nowIso, pageLimit } from './codec.ts';
import type { Database } from './schema.ts';
import { compileOnce } from './compiled.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { TagsRepo } from './types.ts';

/**
 * Tags over Kysely. get is on the registry's hot path (one primary-key lookup). A tag always points at a stored
 * manifest of its repository: set throws AppError MANIFEST_UNKNOWN otherwise, and deleting the manifest deletes
 * its tags. Immutability of tags is the builder's policy, not the store's: set overwrites.
 */
export function tagsRepo(db: Kysely<Database>): TagsRepo {
  const byName = compileOnce(db.selectFrom('tags').select('digest').where('repo_id', '=', '').where('name', '=', ''), 2);
  return {
    async set(repositoryId, tag, digest) {
      const updated_at = nowIso();
      try {
        await db
          .insertInto('tags')
          .values({ repo_id: repositoryId, name: tag, digest, updated_at })
          .onConflict((oc) => oc.columns(['repo_id', 'name']).doUpdateSet({ digest, updated_at }))
          .execute();
      } catch (err) {
        rethrowViolation(err, { missing: ['MANIFEST_UNKNOWN', `manifest ${digest} is not stored in repository ${repositoryId}`] });
      }
    },
    async get(repositoryId, tag) {
      const { rows } = await db.executeQuery(byName(repositoryId, tag));
      return rows[0]?.digest ?? null;
    },
    async list(repositoryId, { last, limit }) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      let q = db.selectFrom('tags').select('name').where('repo_id', '=', repositoryId).orderBy('name').limit(n);
      if (last !== undefined) q = q.where('name', '>', last);
      return (await q.execute()).map((r) => r.name);
    },
    async delete(repositoryId, tag) {
      await db.deleteFrom('tags').where('repo_id', '=', repositoryId).where('name', '=', tag).execute();
    },
  };
}
