import type { Kysely } from 'kysely';
import type { Digest } from '../core/digest.ts';
import { chunks } from './codec.ts';
import { toDeployment } from './deployments.ts';
import { toRepository } from './repositories.ts';
import type { Deployment } from './builds-types.ts';
import type { ImageBuild, InventoryManifest, InventoryRepo } from './lifecycle-types.ts';
import type { Database } from './schema.ts';

const COLUMNS = ['repo_id', 'digest', 'media_type', 'size', 'subject', 'created_at'] as const;

/**
 * Read-only views retention, storage usage and fsck evaluate. They read whole repositories (or pages of the whole
 * store) in a few queries rather than one per manifest: an application's repositories hold hundreds to thousands of
 * images, and per-row queries would hold the single SQLite connection far longer.
 */
export function inventoryRepo(db: Kysely<Database>): InventoryRepo {
  /** Adds tags, blobs and children to manifest rows of the given repositories. */
  async function assemble(rows: Array<{ repo_id: string; digest: Digest; media_type: string; size: number; subject: string | null; created_at: string }>): Promise<InventoryManifest[]> {
    const out = new Map<string, InventoryManifest>();
    for (const r of rows) {
      out.set(`${r.repo_id} ${r.digest}`, {
        repositoryId: r.repo_id, digest: r.digest, mediaType: r.media_type, size: Number(r.size), subject: r.subject as Digest | null,
        createdAt: r.created_at, tags: [], blobs: [], children: [],
      });
    }
    const byRepo = new Map<string, Digest[]>();
    for (const r of rows) byRepo.set(r.repo_id, [...(byRepo.get(r.repo_id) ?? []), r.digest]);
    for (const [repoId, all] of byRepo) {
      for (const ds of chunks(all)) {
        for (const t of await db.selectFrom('tags').select(['digest', 'name', 'updated_at']).where('repo_id', '=', repoId).where('digest', 'in', ds).orderBy('name').execute()) {
          out.get(`${repoId} ${t.digest}`)?.tags.push({ name: t.name, updatedAt: t.updated_at });
        }
        for (const b of await db.selectFrom('manifest_blobs').select(['manifest_digest', 'blob_digest']).where('repo_id', '=', repoId).where('manifest_digest', 'in', ds).execute()) {
          out.get(`${repoId} ${b.manifest_digest}`)?.blobs.push(b.blob_digest);
        }
        for (const c of await db.selectFrom('manifest_children').select(['manifest_digest', 'child_digest']).where('repo_id', '=', repoId).where('manifest_digest', 'in', ds).execute()) {
          out.get(`${repoId} ${c.manifest_digest}`)?.children.push(c.child_digest);
        }
      }
    }
    return [...out.values()];
  }

  return {
    async manifests(repositoryIds) {
      const rows = [];
      for (const part of chunks([...new Set(repositoryIds)])) {
        if (part.length === 0) continue;
        rows.push(...await db.selectFrom('manifests').select(COLUMNS).where('repo_id', 'in', part).orderBy('repo_id').orderBy('digest').execute());
      }
      return assemble(rows);
    },

    async manifestPage(after, limit) {
      let q = db.selectFrom('manifests').select(COLUMNS).orderBy('repo_id').orderBy('digest').limit(limit);
      if (after) q = q.where((eb) => eb(eb.refTuple('repo_id', 'digest'), '>', eb.tuple(after.repositoryId, after.digest as Digest)));
      return assemble(await q.execute());
    },

    async builds(applicationId) {
      const rows = await db.selectFrom('builds')
        .select(['id', 'service_id', 'repository', 'commit', 'branch', 'image_digest', 'status', 'created_at', 'finished_at', 'deployment_id'])
        .where('application_id', '=', applicationId).where('commit', 'is not', null).execute();
      return rows.map((r): ImageBuild => ({
        id: r.id, serviceId: r.service_id, repository: r.repository, commit: r.commit, branch: r.branch, imageDigest: r.image_digest,
        status: r.status, createdAt: r.created_at, finishedAt: r.finished_at, deploymentId: r.deployment_id,
      }));
    },

    async deploymentsInUse(applicationId) {
      const out: Deployment[] = [];
      const running = await db.selectFrom('deployments').selectAll().where('application_id', '=', applicationId).where('status', '=', 'running').execute();
      out.push(...running.map(toDeployment));
      // "Current and previous" per branch override (null: every service's own branch), so a staging branch
      // deployed daily cannot push production's previous deployment out of reach.
      const branches = await db.selectFrom('deployments').select('branch').distinct()
        .where('application_id', '=', applicationId).where('status', '=', 'succeeded').execute();
      for (const { branch } of branches) {
        const rows = await db.selectFrom('deployments').selectAll().where('application_id', '=', applicationId).where('status', '=', 'succeeded')
          .where('branch', branch === null ? 'is' : '=', branch).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(2).execute();
        out.push(...rows.map(toDeployment));
      }
      return out;
    },

    async referencesTo(digests) {
      const out: Array<{ repositoryId: string; manifestDigest: Digest; digest: Digest }> = [];
      for (const part of chunks([...new Set(digests)])) {
        if (part.length === 0) continue;
        for (const r of await db.selectFrom('manifest_blobs').select(['repo_id', 'manifest_digest', 'blob_digest']).where('blob_digest', 'in', part).execute()) {
          out.push({ repositoryId: r.repo_id, manifestDigest: r.manifest_digest, digest: r.blob_digest });
        }
        for (const r of await db.selectFrom('manifests').select(['repo_id', 'digest']).where('digest', 'in', part).execute()) {
          out.push({ repositoryId: r.repo_id, manifestDigest: r.digest, digest: r.digest });
        }
      }
      return out;
    },

    async repositories(namespaces) {
      if (namespaces?.length === 0) return [];
      let q = db.selectFrom('repositories').selectAll().orderBy('name');
      if (namespaces) q = q.where('namespace', 'in', namespaces);
      return (await q.execute()).map(toRepository);
    },

    async needed(digests, since) {
      const out = new Set<string>();
      for (const ds of chunks([...new Set(digests)])) {
        if (ds.length === 0) continue;
        for (const r of await db.selectFrom('repository_blobs').select('digest as d').where('digest', 'in', ds).execute()) out.add(r.d);
        for (const r of await db.selectFrom('manifest_blobs').select('blob_digest as d').where('blob_digest', 'in', ds).execute()) out.add(r.d);
        for (const r of await db.selectFrom('manifests').select('digest as d').where('digest', 'in', ds).execute()) out.add(r.d);
        for (const r of await db.selectFrom('image_trash_refs').select('digest as d').where('digest', 'in', ds).execute()) out.add(r.d);
        for (const r of await db.selectFrom('blob_touches').select('digest as d').where('digest', 'in', ds).where('touched_at', '>=', since).execute()) out.add(r.d);
      }
      return out;
    },

    async danglingTags() {
      const rows = await db.selectFrom('tags as t')
        .leftJoin('manifests as m', (j) => j.onRef('m.repo_id', '=', 't.repo_id').onRef('m.digest', '=', 't.digest'))
        .select(['t.repo_id', 't.name', 't.digest']).where('m.digest', 'is', null).execute();
      return rows.map((r) => ({ repositoryId: r.repo_id, name: r.name, digest: r.digest }));
    },
  };
}
