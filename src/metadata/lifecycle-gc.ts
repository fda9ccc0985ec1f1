import type { Kysely } from 'kysely';
import type { Digest } from '../core/digest.ts';
import { chunks, nowIso } from './codec.ts';
import { hasRowLocks, lockKeys } from './locking.ts';
import type { BlobGcRepo, BlobLinkRow, GcRef } from './lifecycle-types.ts';
import type { Database } from './schema.ts';

/** Rows per page when the collector scans references and links: small enough not to hold the connection long. */
const PAGE = 2000;

/**
 * The garbage collector's side of the metadata store. The protocol these methods serve, and why it is safe, is
 * explained in lifecycle/gc.ts; here are the two properties it needs from the database:
 *
 * - touch and claimLinks are durable before they resolve, so "a caller announced it relies on blob d" is visible
 *   to every later sweep transaction;
 * - sweep is one write transaction that re-reads every fact it decides on (references, links, touches) and keeps
 *   the write lock while the blob files are moved away. On SQLite the lock is the whole database (BEGIN IMMEDIATE,
 *   sqlite-dialect.ts): a push that links a blob, a retention run that moves references to the trash, or a touch,
 *   happens entirely before or entirely after a sweep batch. On PostgreSQL the same exclusion is per digest:
 *   lockKeys (locking.ts, advisory locks on the digests) in sweep, touch, claimLinks, repositories.linkBlob and
 *   trash.restore; on SQLite lockKeys does nothing.
 */
export function blobGcRepo(db: Kysely<Database>): BlobGcRepo {
  async function touchIn(q: Kysely<Database>, digests: Digest[]): Promise<void> {
    const touched_at = nowIso();
    for (const part of chunks([...new Set(digests)])) {
      if (part.length === 0) continue;
      await q.insertInto('blob_touches').values(part.map((digest) => ({ digest, touched_at })))
        .onConflict((oc) => oc.column('digest').doUpdateSet({ touched_at })).execute();
    }
  }

  return {
    async touch(digests) {
      if (!hasRowLocks(db)) return touchIn(db, digests); // SQLite: each insert already excludes a sweep
      await db.transaction().execute(async (trx) => {
        await lockKeys(trx, digests);
        await touchIn(trx, digests);
      });
    },

    async claimLinks(repositoryId, digests) {
      if (digests.length === 0) return [];
      return db.transaction().execute(async (trx) => {
        await lockKeys(trx, digests);
        await touchIn(trx, digests);
        const linked = new Set<string>();
        for (const part of chunks([...new Set(digests)])) {
          const rows = await trx.selectFrom('repository_blobs').select('digest').where('repo_id', '=', repositoryId).where('digest', 'in', part).execute();
          rows.forEach((r) => linked.add(r.digest));
        }
        return digests.filter((d) => !linked.has(d));
      });
    },

    async *scanRefs(pageSize = PAGE) {
      let mb: [string, Digest, Digest] | null = null;
      for (;;) {
        let q = db.selectFrom('manifest_blobs').select(['repo_id', 'manifest_digest', 'blob_digest'])
          .orderBy('repo_id').orderBy('manifest_digest').orderBy('blob_digest').limit(pageSize);
        if (mb) { const k = mb; q = q.where((eb) => eb(eb.refTuple('repo_id', 'manifest_digest', 'blob_digest'), '>', eb.tuple(k[0], k[1], k[2]))); }
        const rows = await q.execute();
        if (rows.length > 0) yield rows.map((r): GcRef => ({ repositoryId: r.repo_id, digest: r.blob_digest, owner: `m:${r.manifest_digest}` }));
        if (rows.length < pageSize) break;
        const last = rows.at(-1)!;
        mb = [last.repo_id, last.manifest_digest, last.blob_digest];
      }
      let m: [string, Digest] | null = null;
      for (;;) {
        let q = db.selectFrom('manifests').select(['repo_id', 'digest']).orderBy('repo_id').orderBy('digest').limit(pageSize);
        if (m) { const k = m; q = q.where((eb) => eb(eb.refTuple('repo_id', 'digest'), '>', eb.tuple(k[0], k[1]))); }
        const rows = await q.execute();
        if (rows.length > 0) yield rows.map((r): GcRef => ({ repositoryId: r.repo_id, digest: r.digest, owner: `m:${r.digest}` }));
        if (rows.length < pageSize) break;
        const last = rows.at(-1)!;
        m = [last.repo_id, last.digest];
      }
      let t: [string, Digest] | null = null;
      for (;;) {
        let q = db.selectFrom('image_trash_refs').select(['trash_id', 'repo_id', 'digest']).orderBy('trash_id').orderBy('digest').limit(pageSize);
        if (t) { const k = t; q = q.where((eb) => eb(eb.refTuple('trash_id', 'digest'), '>', eb.tuple(k[0], k[1]))); }
        const rows = await q.execute();
        if (rows.length > 0) yield rows.map((r): GcRef => ({ repositoryId: r.repo_id, digest: r.digest, owner: `t:${r.trash_id}` }));
        if (rows.length < pageSize) break;
        const last = rows.at(-1)!;
        t = [last.trash_id, last.digest];
      }
    },

    async *scanLinks(pageSize = PAGE) {
      let k: [string, Digest] | null = null;
      for (;;) {
        let q = db.selectFrom('repository_blobs').select(['repo_id', 'digest', 'created_at']).orderBy('repo_id').orderBy('digest').limit(pageSize);
        if (k) { const key = k; q = q.where((eb) => eb(eb.refTuple('repo_id', 'digest'), '>', eb.tuple(key[0], key[1]))); }
        const rows = await q.execute();
        if (rows.length > 0) yield rows.map((r): BlobLinkRow => ({ repositoryId: r.repo_id, digest: r.digest, createdAt: r.created_at }));
        if (rows.length < pageSize) break;
        const last = rows.at(-1)!;
        k = [last.repo_id, last.digest];
      }
    },

    async touchedSince(since) {
      const rows = await db.selectFrom('blob_touches').select('digest').where('touched_at', '>=', since).execute();
      return new Set(rows.map((r) => r.digest));
    },

    async sweep(batch, cutoff, moveBlobs) {
      return db.transaction().execute(async (trx) => {
        await lockKeys(trx, [...batch.links.map((l) => l.digest), ...batch.blobs]);
        const fresh = async (ds: Digest[]) => new Set((await trx.selectFrom('blob_touches').select('digest')
          .where('digest', 'in', ds).where('touched_at', '>=', cutoff).execute()).map((r) => r.digest as string));

        const linksDeleted: Array<{ repositoryId: string; digest: Digest }> = [];
        const byRepo = new Map<string, Digest[]>();
        for (const l of batch.links) byRepo.set(l.repositoryId, [...(byRepo.get(l.repositoryId) ?? []), l.digest]);
        for (const [repoId, all] of byRepo) {
          for (const ds of chunks([...new Set(all)], 200)) {
            const alive = await fresh(ds);
            for (const r of await trx.selectFrom('manifest_blobs').select('blob_digest as d').where('repo_id', '=', repoId).where('blob_digest', 'in', ds).execute()) alive.add(r.d);
            for (const r of await trx.selectFrom('manifests').select('digest as d').where('repo_id', '=', repoId).where('digest', 'in', ds).execute()) alive.add(r.d);
            for (const r of await trx.selectFrom('image_trash_refs').select('digest as d').where('repo_id', '=', repoId).where('digest', 'in', ds).execute()) alive.add(r.d);
            const dead = ds.filter((d) => !alive.has(d));
            if (dead.length === 0) continue;
            const old = (await trx.selectFrom('repository_blobs').select('digest').where('repo_id', '=', repoId).where('digest', 'in', dead)
              .where('created_at', '<', cutoff).execute()).map((r) => r.digest);
            if (old.length === 0) continue;
            await trx.deleteFrom('repository_blobs').where('repo_id', '=', repoId).where('digest', 'in', old).execute();
            linksDeleted.push(...old.map((digest) => ({ repositoryId: repoId, digest })));
          }
        }

        const dead: Digest[] = [];
        for (const ds of chunks([...new Set(batch.blobs)], 200)) {
          const alive = await fresh(ds);
          for (const r of await trx.selectFrom('manifest_blobs').select('blob_digest as d').where('blob_digest', 'in', ds).execute()) alive.add(r.d);
          for (const r of await trx.selectFrom('manifests').select('digest as d').where('digest', 'in', ds).execute()) alive.add(r.d);
          for (const r of await trx.selectFrom('image_trash_refs').select('digest as d').where('digest', 'in', ds).execute()) alive.add(r.d);
          for (const r of await trx.selectFrom('repository_blobs').select('digest as d').where('digest', 'in', ds).execute()) alive.add(r.d);
          dead.push(...ds.filter((d) => !alive.has(d)));
        }
        // Still inside the transaction: nothing can link, reference or touch these digests until the files are gone.
        const blobsMoved = dead.length > 0 ? await moveBlobs(dead) : [];
        return { linksDeleted, blobsMoved };
      });
    },

    async pruneTouches(before) {
      const r = await db.deleteFrom('blob_touches').where('touched_at', '<', before).executeTakeFirst();
      return Number(r.numDeletedRows);
    },

    async deleteLink(repositoryId, digest) {
      await db.deleteFrom('repository_blobs').where('repo_id', '=', repositoryId).where('digest', '=', digest).execute();
    },
  };
}
