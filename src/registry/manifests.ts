import { AppError, isAppError } from '../core/errors.ts';
import { digestOfLike, sha256Of, type Digest } from '../core/digest.ts';
import { parseReference, type Reference } from '../core/reference.ts';
import { Lru } from '../core/lru.ts';
import { parseManifest } from '../oci/manifest.ts';
import type { ManifestRecord } from '../metadata/types.ts';
import { readBody, sendEmpty, type Handler, type RequestContext } from './context.ts';

/** Manifests are content-addressed, so cached bytes never go stale. */
const bytesCache = new Lru<string, Buffer>({ maxWeight: 64 * 1024 * 1024, maxEntries: 20000, weigh: (b) => b.length });

/**
 * The reference of a manifest read (GET/HEAD). One that is neither a valid tag nor a valid digest names no manifest:
 * throws AppError MANIFEST_UNKNOWN (404), the only failure the spec's table lists for those endpoints. Writes (PUT,
 * DELETE) keep parseReference's 400.
 */
export function readReference(name: string, ref: string): Reference {
  try {
    return parseReference(ref);
  } catch (err) {
    if (!isAppError(err)) throw err;
    throw new AppError('MANIFEST_UNKNOWN', `manifest ${ref.slice(0, 80)} not found in ${name}: a reference is a tag (up to 128 of [A-Za-z0-9_.-], not starting with . or -) or a digest (sha256:<64 lowercase hex>)`);
  }
}

async function resolve(ctx: RequestContext): Promise<ManifestRecord> {
  const ref = readReference(ctx.name, ctx.ref);
  const repo = ctx.repo;
  if (!repo) throw new AppError('NAME_UNKNOWN', `repository ${ctx.name} not known to registry`);
  const md = ctx.deps.metadata;
  const digest = ref.kind === 'tag' ? await md.tags.get(repo.id, ref.tag) : ref.digest;
  const rec = digest ? await md.manifests.get(repo.id, digest) : null;
  if (!rec) throw new AppError('MANIFEST_UNKNOWN', `manifest ${ctx.ref} not found in ${ctx.name}`);
  return rec;
}

async function manifestBytes(ctx: RequestContext, rec: ManifestRecord): Promise<Buffer> {
  let bytes = bytesCache.get(rec.digest);
  if (!bytes) {
    bytes = await ctx.deps.blobs.readAll(rec.digest, ctx.deps.maxManifestBytes);
    bytesCache.set(rec.digest, bytes);
  }
  return bytes;
}

/** The first of `digests` whose blob is not stored, or null. */
async function firstMissing(ctx: RequestContext, digests: Digest[]): Promise<Digest | null> {
  for (const d of new Set(digests)) if ((await ctx.deps.blobs.stat(d)) === null) return d;
  return null;
}

/** GET/HEAD /v2/<name>/manifests/<reference>: the stored bytes with their media type and digest. */
export const getManifest: Handler = async (ctx) => {
  const rec = await resolve(ctx);
  ctx.deps.pulls?.record(rec.repositoryId, rec.digest);
  const bytes = await manifestBytes(ctx, rec);
  ctx.res.writeHead(200, {
    'Content-Type': rec.mediaType,
    'Content-Length': bytes.length,
    'Docker-Content-Digest': rec.digest,
    ETag: `"${rec.digest}"`,
    'Docker-Distribution-API-Version': 'registry/2.0',
  });
  if (ctx.method === 'HEAD') {
    ctx.res.end();
    return 0;
  }
  ctx.res.end(bytes);
  return bytes.length;
};

/**
 * PUT /v2/<name>/manifests/<reference> (push access only): validates schema and digest, requires every referenced blob
 * and child manifest to be present in the repository, stores the bytes, records references, moves the tag.
 */
export const putManifest: Handler = async (ctx) => {
  const ref = parseReference(ctx.ref);
  const { metadata, ingest, maxManifestBytes } = ctx.deps;
  const body = await readBody(ctx.req, maxManifestBytes);
  if (!body) throw new AppError('SIZE_INVALID', `manifest larger than ${maxManifestBytes} bytes`);
  const parsed = parseManifest(body, ctx.req.headers['content-type']);
  let digest: Digest = sha256Of(body);
  if (ref.kind === 'digest') {
    if (digestOfLike(ref.digest, body) !== ref.digest) {
      throw new AppError('DIGEST_INVALID', `manifest content does not match digest ${ref.digest}`);
    }
    digest = ref.digest;
  }
  const repo = ctx.repo ?? (await metadata.repositories.ensure(ctx.name));
  // Intent before effect (lifecycle/gc.ts): one transaction touches every blob this manifest will reference (and
  // its own bytes) and reads the repository's links, so a concurrent garbage collection either keeps them all or
  // has already removed their links and the push is refused here.
  const unlinked = await metadata.lifecycle.gc.claimLinks(repo.id, [digest, ...parsed.blobs.map((b) => b.digest)]);
  const missingBlob = parsed.blobs.find((b) => unlinked.includes(b.digest));
  if (missingBlob) {
    throw new AppError('MANIFEST_BLOB_UNKNOWN', `blob ${missingBlob.digest} referenced by the manifest is not in ${ctx.name}; upload it first`, { digest: missingBlob.digest });
  }
  const missingChild = async () => {
    for (const m of parsed.manifests) if (!(await metadata.manifests.get(repo.id, m.digest))) return m.digest;
    return null;
  };
  const child = await missingChild();
  if (child) throw new AppError('MANIFEST_BLOB_UNKNOWN', `manifest ${child} referenced by the index is not in ${ctx.name}; push it first`, { digest: child });
  const existed = (await metadata.manifests.get(repo.id, digest)) !== null;
  await ingest.put(body, digest);
  await metadata.manifests.put({
    repositoryId: repo.id,
    digest,
    mediaType: parsed.mediaType,
    size: body.length,
    artifactType: parsed.artifactType ?? null,
    subject: parsed.subject?.digest ?? null,
    annotations: parsed.annotations ?? null,
    blobs: parsed.blobs.map((b) => b.digest),
    children: parsed.manifests.map((m) => m.digest),
  });
  // Now that the references are recorded, neither retention nor a collection can take what they name. Check that
  // nothing was taken before they were: retention may have removed an untagged child (it checks for parents in its
  // own, earlier transaction), and a sweep may have removed a blob if this request outlasted the collection fence
  // since claimLinks. Then the new manifest is taken back rather than served broken. Its own bytes, if swept, are
  // simply written again.
  const lost = parsed.manifests.length > 0 ? await missingChild() : null;
  const swept = lost ? null : await firstMissing(ctx, parsed.blobs.map((b) => b.digest));
  if (lost || swept) {
    if (!existed) await metadata.manifests.delete(repo.id, digest);
    const what = lost ? `manifest ${lost} referenced by the index` : `blob ${swept} referenced by the manifest`;
    throw new AppError('MANIFEST_BLOB_UNKNOWN', `${what} is not in ${ctx.name}; push it first`, { digest: lost ?? swept });
  }
  if ((await ctx.deps.blobs.stat(digest)) === null) await ingest.put(body, digest);
  if (ref.kind === 'tag') await metadata.tags.set(repo.id, ref.tag, digest);
  const headers: Record<string, string> = {
    Location: `/v2/${ctx.name}/manifests/${digest}`,
    'Docker-Content-Digest': digest,
  };
  if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
  return sendEmpty(ctx.res, 201, headers);
};

/** DELETE /v2/<name>/manifests/<reference> (delete access only): by digest removes the manifest and its tags; by tag, the tag. */
export const deleteManifest: Handler = async (ctx) => {
  const ref = parseReference(ctx.ref);
  const repo = ctx.repo;
  if (!repo) throw new AppError('NAME_UNKNOWN', `repository ${ctx.name} not known to registry`);
  const md = ctx.deps.metadata;
  if (ref.kind === 'tag') {
    if (!(await md.tags.get(repo.id, ref.tag))) throw new AppError('MANIFEST_UNKNOWN', `tag ${ref.tag} not found in ${ctx.name}`);
    await md.tags.delete(repo.id, ref.tag);
  } else {
    if (!(await md.manifests.get(repo.id, ref.digest))) throw new AppError('MANIFEST_UNKNOWN', `manifest ${ref.digest} not found in ${ctx.name}`);
    await md.manifests.delete(repo.id, ref.digest);
  }
  return sendEmpty(ctx.res, 202);
};
