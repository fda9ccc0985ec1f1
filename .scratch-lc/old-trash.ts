import type { Kysely, Selectable, Transaction } from 'kysely';
import { AppError } from '/work/main/src/core/errors.ts';
import type { Digest } from '/work/main/src/core/digest.ts';
import { randomId } from '/work/main/src/core/ids.ts';
import { chunks, fromJson, nowIso, pageLimit, toJson } from '/work/main/src/metadata/codec.ts';
import { ACTIVE } from '/work/main/src/metadata/builds-rows.ts';
import { lockKeys } from '/work/main/src/metadata/locking.ts';
import type {
  RemoveInput, RemoveResult, TrashedManifest, TrashedTag, TrashEntry, TrashReason, TrashRepo,
} from '/work/main/src/metadata/lifecycle-types.ts';
import type { Database, ImageTrashTable } from '/work/main/src/metadata/schema.ts';

/**
 * The image trash over Kysely. An entry holds copies of the manifest rows it removed, so restore can put them back
 * exactly; while it is restorable, image_trash_refs lists every blob and manifest digest it needs, which is what
 * the garbage collector consults (one indexed lookup, no JSON parsing under the sweep's lock).
 *
 * remove and restore are single write transactions (BEGIN IMMEDIATE on SQLite), so a concurrent push, deployment
 * or collector sweep sees either the image or the trash entry, never neither: the references move from
 * manifest_blobs to image_trash_refs atomically.
 */
export function trashRepo(db: Kysely<Database>): TrashRepo {
  const entryOf = async (id: string) => {
    const row = await db.selectFrom('image_trash').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toEntry(row) : null;
  };

  return {
    remove: (input) => db.transaction().execute((trx) => removeIn(trx, input)),

    get: entryOf,

    async list({ accountId, applicationId, state, limit }) {
      const n = pageLimit(limit);
      if (n === 0) return [];
      let q = db.selectFrom('image_trash').selectAll().orderBy('removed_at', 'desc').orderBy('id', 'desc').limit(n);
      if (accountId !== undefined) q = q.where('account_id', '=', accountId);
      if (applicationId !== undefined) q = q.where('application_id', '=', applicationId);
      if (state === 'removed') q = q.where('restored_at', 'is', null).where('purged_at', 'is', null);
      return (await q.execute()).map(toEntry);
    },

    async restore(id) {
      return db.transaction().execute(async (trx) => {
        const row = await trx.selectFrom('image_trash').selectAll().where('id', '=', id).executeTakeFirst();
        if (!row) throw new AppError('NOT_FOUND', `removed image ${id} not found`);
        const e = toEntry(row);
        if (e.state === 'restored') throw new AppError('CONFLICT', `image ${e.repository}@${e.digest} was restored already (${e.restoredAt})`);
        if (e.state === 'purged') throw new AppError('CONFLICT', `image ${e.repository}@${e.digest} was purged at ${e.purgedAt} (its grace window ended); rebuild it instead`);
        const manifests = await withSharedChildren(trx, e);
        // PostgreSQL: the references move from image_trash_refs back to manifest_blobs, which a concurrent sweep
        // reads first; lock the digests so no sweep runs between (lifecycle-gc.ts). SQLite: a no-op.
        await lockKeys(trx, manifests.flatMap((m) => [m.digest, ...m.blobs, ...m.children]));
        for (const t of e.tags) {
          const cur = await trx.selectFrom('tags').select('digest').where('repo_id', '=', e.repositoryId).where('name', '=', t.name).executeTakeFirst();
          if (cur && cur.digest !== e.digest) {
            throw new AppError('CONFLICT', `tag ${e.repository}:${t.name} now points at ${cur.digest}; the removed image cannot take it back`);
          }
        }
        const now = nowIso();
        const repo_id = e.repositoryId;
        for (const m of manifests) {
          await trx.insertInto('manifests').values({
            repo_id, digest: m.digest, media_type: m.mediaType, size: m.size, artifact_type: m.artifactType, subject: m.subject,
            annotations: toJson(m.annotations), created_at: m.createdAt,
          }).onConflict((oc) => oc.columns(['repo_id', 'digest']).doNothing()).execute();
        }
        for (const m of manifests) {
          for (const part of chunks(m.blobs)) {
            await trx.insertInto('manifest_blobs').values(part.map((blob_digest) => ({ repo_id, manifest_digest: m.digest, blob_digest })))
              .onConflict((oc) => oc.doNothing()).execute();
            await trx.insertInto('repository_blobs').values(part.map((digest) => ({ repo_id, digest, created_at: now })))
              .onConflict((oc) => oc.doNothing()).execute();
          }
          for (const part of chunks(m.children)) {
            await trx.insertInto('manifest_children').values(part.map((child_digest) => ({ repo_id, manifest_digest: m.digest, child_digest })))
              .onConflict((oc) => oc.doNothing()).execute();
          }
        }
        for (const t of e.tags) {
          // The tag's own time, not now: a restored image is as old as it was (retention orders images by it).
          await trx.insertInto('tags').values({ repo_id, name: t.name, digest: e.digest, updated_at: t.updatedAt })
            .onConflict((oc) => oc.columns(['repo_id', 'name']).doNothing()).execute();
        }
        await trx.deleteFrom('image_trash_refs').where('trash_id', '=', id).execute();
        await trx.deleteFrom('image_trash_builds').where('trash_id', '=', id).execute();
        const done = await trx.updateTable('image_trash').set({ restored_at: now }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
        return toEntry(done);
      });
    },

    async purgeExpired(now) {
      return db.transaction().execute(async (trx) => {
        const rows = await trx.selectFrom('image_trash').selectAll()
          .where('restored_at', 'is', null).where('purged_at', 'is', null).where('expires_at', '<=', now)
          .orderBy('expires_at').orderBy('id').execute();
        for (const part of chunks(rows.map((r) => r.id))) {
          await trx.deleteFrom('image_trash_refs').where('trash_id', 'in', part).execute();
          await trx.updateTable('image_trash').set({ purged_at: now }).where('id', 'in', part).execute();
        }
        return rows.map((r) => toEntry({ ...r, purged_at: now }));
      });
    },

    async purge(id) {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('image_trash_refs').where('trash_id', '=', id).execute();
        await trx.updateTable('image_trash').set({ purged_at: nowIso() }).where('id', '=', id).where('purged_at', 'is', null).execute();
      });
    },

    async removedImages(buildIds) {
      const out = new Map<string, TrashEntry>();
      for (const part of chunks([...new Set(buildIds)])) {
        if (part.length === 0) continue;
        const rows = await db.selectFrom('image_trash_builds as tb').innerJoin('image_trash as t', 't.id', 'tb.trash_id')
          .selectAll('t').select('tb.build_id').where('tb.build_id', 'in', part).execute();
        for (const r of rows) out.set(r.build_id, toEntry(r));
      }
      return out;
    },
  };
}

/**
 * The entry's manifests plus any child they name that is neither stored nor in the entry: two removed indexes that
 * shared an untagged child keep its copy in one entry only (the first removal could not take a child the other
 * index still named), so restoring the other takes the copy from there. Throws CONFLICT when a child is nowhere.
 */
async function withSharedChildren(trx: Transaction<Database>, e: TrashEntry): Promise<TrashedManifest[]> {
  const out = [...e.manifests];
  const have = new Set<string>(out.map((m) => m.digest));
  let others: TrashedManifest[] | null = null;
  for (let i = 0; i < out.length; i++) {
    for (const child of out[i]!.children) {
      if (have.has(child)) continue;
      const stored = await trx.selectFrom('manifests').select('digest').where('repo_id', '=', e.repositoryId).where('digest', '=', child).executeTakeFirst();
      if (stored) { have.add(child); continue; }
      others ??= (await trx.selectFrom('image_trash').select('manifests').where('repo_id', '=', e.repositoryId)
        .where('restored_at', 'is', null).where('purged_at', 'is', null).where('id', '!=', e.id).execute())
        .flatMap((r) => fromJson<TrashedManifest[]>(r.manifests) ?? []);
      const copy = others.find((m) => m.digest === child);
      if (!copy) throw new AppError('CONFLICT', `cannot restore ${e.repository}@${e.digest}: its child manifest ${child} is gone`);
      out.push(copy);
      have.add(child);
    }
  }
  return out;
}

/** remove(), inside its transaction. */
async function removeIn(trx: Transaction<Database>, input: RemoveInput): Promise<RemoveResult> {
  const repo_id = input.repositoryId;
  const skip = (reason: string): RemoveResult => ({ ok: false, reason });
  const root = await trx.selectFrom('manifests').select('digest').where('repo_id', '=', repo_id).where('digest', '=', input.digest).executeTakeFirst();
  if (!root) return skip('the image is gone already');
  const tagRows = await trx.selectFrom('tags').select(['name', 'updated_at']).where('repo_id', '=', repo_id).where('digest', '=', input.digest).execute();
  const tags: TrashedTag[] = tagRows.map((t) => ({ name: t.name, updatedAt: t.updated_at })).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (input.guard) {
    const seen = new Map(input.guard.tags.map((t) => [t.name, t.updatedAt]));
    if (tags.length !== seen.size || tags.some((t) => seen.get(t.name) !== t.updatedAt)) {
      return skip('its tags changed since the policy was evaluated (re-pushed or re-tagged)');
    }
    if (input.applicationId !== null) {
      // Deployments the evaluation may not have seen: one that uses this image, or whose items are not known yet.
      const recent = await trx.selectFrom('deployments').select(['id', 'status', 'items']).where('application_id', '=', input.applicationId)
        .where('created_at', '>=', input.guard.evaluatedAt).execute();
      const commits = new Set(tags.map((t) => t.name));
      for (const d of recent) {
        if (input.guard.seenDeployments.includes(d.id)) continue;
        const items = fromJson<Array<{ buildId?: string; commit?: string | null }>>(d.items) ?? [];
        const uses = items.some((i) => (i.buildId !== undefined && input.buildIds.includes(i.buildId)) || (i.commit != null && commits.has(i.commit)));
        if (uses || (d.status === 'running' && items.length === 0)) return skip(`deployment ${d.id}, started since the policy was evaluated, may use it`);
      }
    }
    if (tags.length > 0) {
      const active = await trx.selectFrom('builds').select('id').where('repository', '=', input.repository)
        .where('commit', 'in', tags.map((t) => t.name)).where('status', 'in', ACTIVE).limit(1).executeTakeFirst();
      if (active) return skip(`build ${active.id} of this commit is queued or running`);
    }
  }
  // The set of manifests to remove: the root plus the cascade that still exists and is still untagged.
  let cascade = [...new Set(input.cascade.filter((d) => d !== input.digest))];
  if (cascade.length > 0) {
    const present = new Set((await trx.selectFrom('manifests').select('digest').where('repo_id', '=', repo_id).where('digest', 'in', cascade).execute()).map((r) => r.digest));
    const tagged = new Set((await trx.selectFrom('tags').select('digest').where('repo_id', '=', repo_id).where('digest', 'in', cascade).execute()).map((r) => r.digest));
    cascade = cascade.filter((d) => present.has(d) && !tagged.has(d));
  }
  const all = [input.digest, ...cascade];
  const parents = await trx.selectFrom('manifest_children').select(['manifest_digest', 'child_digest'])
    .where('repo_id', '=', repo_id).where('child_digest', 'in', all).execute();
  const keptParent = parents.find((p) => !all.includes(p.manifest_digest));
  if (keptParent) return skip(`manifest ${keptParent.child_digest} is still referenced by ${keptParent.manifest_digest}`);

  const mrows = await trx.selectFrom('manifests').selectAll().where('repo_id', '=', repo_id).where('digest', 'in', all).execute();
  const brows = await trx.selectFrom('manifest_blobs').select(['manifest_digest', 'blob_digest']).where('repo_id', '=', repo_id).where('manifest_digest', 'in', all).execute();
  const crows = await trx.selectFrom('manifest_children').select(['manifest_digest', 'child_digest']).where('repo_id', '=', repo_id).where('manifest_digest', 'in', all).execute();
  const manifests: TrashedManifest[] = all.flatMap((d) => {
    const m = mrows.find((r) => r.digest === d);
    return m ? [{
      digest: d, mediaType: m.media_type, size: Number(m.size), artifactType: m.artifact_type, subject: m.subject as Digest | null,
      annotations: fromJson<Record<string, string>>(m.annotations), createdAt: m.created_at,
      blobs: brows.filter((b) => b.manifest_digest === d).map((b) => b.blob_digest),
      children: crows.filter((c) => c.manifest_digest === d).map((c) => c.child_digest),
    }] : [];
  });

  const now = new Date();
  const row: Selectable<ImageTrashTable> = {
    id: randomId(), account_id: input.accountId, application_id: input.applicationId, repo_id, repository: input.repository,
    digest: input.digest, tags: toJson(tags) ?? '[]', manifests: toJson(manifests) ?? '[]', build_ids: toJson(input.buildIds) ?? '[]',
    reason: input.reason, removed_by: input.removedBy, removed_at: now.toISOString(),
    expires_at: new Date(now.getTime() + Math.max(0, input.graceMs)).toISOString(), restored_at: null, purged_at: null, bytes: input.bytes,
  };
  await trx.insertInto('image_trash').values(row).execute();
  const refs = new Set<Digest>();
  for (const m of manifests) {
    refs.add(m.digest);
    m.blobs.forEach((b) => refs.add(b));
  }
  for (const part of chunks([...refs])) {
    await trx.insertInto('image_trash_refs').values(part.map((digest) => ({ trash_id: row.id, repo_id, digest }))).execute();
  }
  for (const part of chunks([...new Set(input.buildIds)])) {
    await trx.insertInto('image_trash_builds').values(part.map((build_id) => ({ trash_id: row.id, build_id }))).onConflict((oc) => oc.doNothing()).execute();
  }
  for (const part of chunks(all)) {
    await trx.deleteFrom('tags').where('repo_id', '=', repo_id).where('digest', 'in', part).execute();
    await trx.deleteFrom('manifest_blobs').where('repo_id', '=', repo_id).where('manifest_digest', 'in', part).execute();
    await trx.deleteFrom('manifest_children').where('repo_id', '=', repo_id).where('manifest_digest', 'in', part).execute();
    await trx.deleteFrom('image_pulls').where('repo_id', '=', repo_id).where('digest', 'in', part).execute();
    await trx.deleteFrom('manifests').where('repo_id', '=', repo_id).where('digest', 'in', part).execute();
  }
  return { ok: true, entry: toEntry(row) };
}

/** Maps an image_trash row to the domain type. */
export function toEntry(r: Selectable<ImageTrashTable>): TrashEntry {
  return {
    id: r.id, accountId: r.account_id, applicationId: r.application_id, repositoryId: r.repo_id, repository: r.repository,
    digest: r.digest, tags: fromJson<TrashedTag[]>(r.tags) ?? [], manifests: fromJson<TrashedManifest[]>(r.manifests) ?? [],
    buildIds: fromJson<string[]>(r.build_ids) ?? [], reason: r.reason as TrashReason, removedBy: r.removed_by,
    removedAt: r.removed_at, expiresAt: r.expires_at, restoredAt: r.restored_at, purgedAt: r.purged_at, bytes: Number(r.bytes),
    state: r.restored_at ? 'restored' : r.purged_at ? 'purged' : 'removed',
  };
}

