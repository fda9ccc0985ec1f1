import type { Kysely, Selectable } from 'kysely';
import type { Digest } from '../core/digest.ts';
import { chunks, fromJson, nowIso, toJson } from './codec.ts';
import type { Database, ManifestsTable } from './schema.ts';
import { compileOnce } from './compiled.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { ManifestRecord, ManifestsRepo } from './types.ts';

const COLUMNS = ['repo_id', 'digest', 'media_type', 'size', 'artifact_type', 'subject', 'annotations', 'created_at'] as const;

/**
 * Manifests and their references over Kysely. get is on the registry's hot path (one primary-key lookup).
 * put is idempotent: a manifest is content-addressed, so a second put of the same digest changes nothing (the first
 * createdAt stays). put throws AppError NAME_UNKNOWN when the repository does not exist.
 */
export function manifestsRepo(db: Kysely<Database>): ManifestsRepo {
  const byDigest = compileOnce(
    db.selectFrom('manifests').select(COLUMNS).where('repo_id', '=', '').where('digest', '=', 'sha256:'),
    2,
  );
  return {
    async put(m) {
      const repo_id = m.repositoryId;
      const manifest_digest = m.digest;
      try {
        // Write first, read never: a deferred SQLite transaction that starts with a write takes the write lock at
        // once, so two processes wait on busy_timeout instead of failing with SQLITE_BUSY on a lock upgrade.
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('manifests')
            .values({
              repo_id,
              digest: manifest_digest,
              media_type: m.mediaType,
              size: m.size,
              artifact_type: m.artifactType,
              subject: m.subject,
              annotations: toJson(m.annotations),
              created_at: nowIso(),
            })
            .onConflict((oc) => oc.columns(['repo_id', 'digest']).doNothing())
            .execute();
          for (const part of chunks([...new Set(m.blobs)])) {
            await trx
              .insertInto('manifest_blobs')
              .values(part.map((blob_digest) => ({ repo_id, manifest_digest, blob_digest })))
              .onConflict((oc) => oc.doNothing())
              .execute();
          }
          for (const part of chunks([...new Set(m.children)])) {
            await trx
              .insertInto('manifest_children')
              .values(part.map((child_digest) => ({ repo_id, manifest_digest, child_digest })))
              .onConflict((oc) => oc.doNothing())
              .execute();
          }
        });
      } catch (err) {
        rethrowViolation(err, { missing: ['NAME_UNKNOWN', `repository ${repo_id} does not exist`] });
      }
    },
    async get(repositoryId, digest) {
      const { rows } = await db.executeQuery(byDigest(repositoryId, digest));
      return rows[0] ? toManifest(rows[0]) : null;
    },
    async delete(repositoryId, digest) {
      // Explicit deletes rather than relying on ON DELETE CASCADE alone, so the contract holds on any backend.
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('tags').where('repo_id', '=', repositoryId).where('digest', '=', digest).execute();
        for (const table of ['manifest_blobs', 'manifest_children'] as const) {
          await trx.deleteFrom(table).where('repo_id', '=', repositoryId).where('manifest_digest', '=', digest).execute();
        }
        await trx.deleteFrom('manifests').where('repo_id', '=', repositoryId).where('digest', '=', digest).execute();
      });
    },
    async referrers(repositoryId, subject, artifactType) {
      let q = db
        .selectFrom('manifests')
        .select(COLUMNS)
        .where('repo_id', '=', repositoryId)
        .where('subject', '=', subject)
        .orderBy('created_at')
        .orderBy('digest');
      if (artifactType !== undefined) q = q.where('artifact_type', '=', artifactType);
      return (await q.execute()).map(toManifest);
    },
  };
}

/** Maps a manifests row to the domain type. */
export function toManifest(r: Selectable<ManifestsTable>): ManifestRecord {
  return {
    repositoryId: r.repo_id,
    digest: r.digest,
    mediaType: r.media_type,
    size: Number(r.size),
    artifactType: r.artifact_type,
    subject: r.subject as Digest | null,
    annotations: fromJson<Record<string, string>>(r.annotations),
    createdAt: r.created_at,
  };
}
