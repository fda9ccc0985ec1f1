// The pull-through cache behind the read-only namespace mirror/<registry>/<path>: a manifest or blob that is not
// stored yet is fetched from the configured upstream once, verified, stored in the shared content store (blobs are
// deduplicated by digest) and from then on served like any other image.
//
//   manifest by digest   stored → never asks the upstream again; missing → GET by digest.
//   manifest by tag      missing → GET; stored and checked within tagTtlSeconds → served as is; older → HEAD, and a
//                        moved tag is fetched again. An unreachable upstream → the cached copy (onNotice says so).
//   index                stored with the child for this host's platform (fetched at once); other children come by
//                        digest when asked for (each upstream GET of a manifest counts against Docker Hub's limits).
//   blob                 only one a stored manifest of the same mirror repository references; a digest the store
//                        already holds (another account's layer, another mirror) is linked only after the upstream
//                        answers HEAD for it, so a manifest can never be used to reach content its upstream lacks.
//
// Concurrent requests for the same manifest reference or blob wait for one upstream fetch (single-flight, per node).
// A fetch is not tied to the request that started it: others may be waiting on it, so a client hanging up does not
// cancel it (the upstream client's timeouts bound it). When a tag was last checked lives in memory: after a restart the first pull of each tag checks once.

import { AppError, isAppError } from '../../core/errors.ts';
import { isDigest, type Digest } from '../../core/digest.ts';
import { parseReference } from '../../core/reference.ts';
import { parseManifest } from '../../oci/manifest.ts';
import { isIndexMediaType } from '../../oci/mediatypes.ts';
import { hostPlatform, pickPlatform, type Platform } from '../../oci/platform.ts';
import type { UpstreamClient } from '../../oci/upstream.ts';
import type { Metadata, Repository } from '../../metadata/types.ts';
import type { BlobWriter } from '../../storage/types.ts';

export interface MirrorFetcherOptions {
  metadata: Metadata;
  /** The content store (the fetcher is one of its few writers). */
  blobs: BlobWriter;
  /** One client per enabled upstream, by registry name (docker.io). */
  upstreams: ReadonlyMap<string, UpstreamClient>;
  /** A tag checked upstream longer ago than this is checked again (HEAD), seconds. */
  tagTtlSeconds: number;
  /** Platform whose image of an index is fetched at once. Default: this host's. */
  platform?: Platform;
  /** Largest index accepted, in entries. Default 256. */
  maxIndexEntries?: number;
  now?: () => number;
  /** Told when a cached copy is served because the upstream could not be asked, and when a moved tag is fetched. */
  onNotice?: (n: { kind: 'stale' | 'moved' | 'fetched'; name: string; ref: string; message: string }) => void;
}

/** The registry's hook: called before a manifest or blob read of any repository. */
export interface MirrorFetcher {
  /**
   * For a repository under mirror/: makes sure `ref` (a manifest tag or digest, or a blob digest) is stored, fetching
   * it upstream when needed; does nothing for other repositories. Throws NAME_UNKNOWN for a registry that is not
   * configured, MANIFEST_UNKNOWN / BLOB_UNKNOWN when the upstream does not have it, and the upstream client's errors
   * (DENIED, TOOMANYREQUESTS, DIGEST_INVALID, SIZE_INVALID, INTERNAL for an unreachable upstream with nothing cached).
   */
  beforeRead(kind: 'manifest' | 'blob', name: string, ref: string): Promise<void>;
}

/**
 * mirror/<registry>/<path> → its parts, or null for a name outside the mirror namespace. `path` is the repository
 * upstream: a one-component Docker Hub name means an official image, as Docker normalises it (busybox → library/busybox).
 */
export function parseMirrorName(name: string): { registry: string; path: string } | null {
  const m = /^mirror\/([^/]+)\/(.+)$/.exec(name);
  if (!m) return null;
  const path = m[1] === 'docker.io' && !m[2]!.includes('/') ? `library/${m[2]!}` : m[2]!;
  return { registry: m[1]!, path };
}

/** Creates the pull-through cache. */
export function createMirrorFetcher(o: MirrorFetcherOptions): MirrorFetcher {
  const { metadata, blobs } = o;
  const now = o.now ?? Date.now;
  const platform = o.platform ?? hostPlatform();
  const maxEntries = o.maxIndexEntries ?? 256;
  const checkedAt = new Map<string, number>();
  const inflight = new Map<string, Promise<void>>();

  const once = (key: string, work: () => Promise<void>): Promise<void> => {
    let p = inflight.get(key);
    if (!p) {
      p = work().finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    return p;
  };

  const clientFor = (name: string, registry: string): UpstreamClient => {
    const c = o.upstreams.get(registry);
    if (!c) throw new AppError('NAME_UNKNOWN', `repository ${name} not known to registry: ${registry} is not a configured upstream (an administrator can add it to "upstreams")`);
    return c;
  };

  async function storeManifest(repo: Repository, client: UpstreamClient, path: string, ref: string, depth: number): Promise<Digest> {
    const m = await client.getManifest(path, ref);
    if (!m) throw new AppError('MANIFEST_UNKNOWN', `manifest ${ref} not found in ${client.name}/${path} upstream`);
    const parsed = parseManifest(m.bytes, m.mediaType);
    if (parsed.manifests.length > maxEntries) throw new AppError('MANIFEST_INVALID', `upstream index ${client.name}/${path}:${ref} has ${parsed.manifests.length} entries, more than ${maxEntries}`);
    if (isIndexMediaType(parsed.mediaType) && depth === 0) {
      const chosen = pickPlatform(parsed.manifests, platform);
      if (chosen && !(await metadata.manifests.get(repo.id, chosen.digest))) await storeManifest(repo, client, path, chosen.digest, 1);
    }
    await metadata.lifecycle.gc.touch([m.digest]); // intent before effect, as a push does (lifecycle/gc.ts)
    await blobs.put(m.bytes, m.digest);
    await metadata.manifests.put({
      repositoryId: repo.id, digest: m.digest, mediaType: parsed.mediaType, size: m.bytes.length,
      artifactType: parsed.artifactType ?? null, subject: parsed.subject?.digest ?? null, annotations: parsed.annotations ?? null,
      blobs: parsed.blobs.map((b) => b.digest), children: parsed.manifests.map((c) => c.digest),
    });
    return m.digest;
  }

  async function manifest(name: string, ref: string): Promise<void> {
    const { registry, path } = parseMirrorName(name)!;
    const client = clientFor(name, registry);
    const r = parseReference(ref);
    const repo = await metadata.repositories.get(name);
    if (r.kind === 'digest') {
      if (repo && (await metadata.manifests.get(repo.id, r.digest))) return; // pinned and cached: never upstream
      return once(`m ${name}@${r.digest}`, async () => {
        await storeManifest(repo ?? (await metadata.repositories.ensure(name)), client, path, r.digest, 0);
      });
    }
    const key = `${name}:${r.tag}`;
    const cached = repo ? await metadata.tags.get(repo.id, r.tag) : null;
    const seen = checkedAt.get(key);
    if (cached && seen !== undefined && now() - seen < o.tagTtlSeconds * 1000) return;
    return once(`m ${key}`, async () => {
      if (cached) {
        let head: { digest: Digest } | null;
        try {
          head = await client.headManifest(path, r.tag);
        } catch (err) {
          if (!isAppError(err) || err.code === 'INTERNAL' || err.code === 'TOOMANYREQUESTS') {
            checkedAt.set(key, now()); // ask again after the TTL, not on every pull while it is down
            o.onNotice?.({ kind: 'stale', name, ref, message: `using the cached ${registry}/${path}:${r.tag} (${cached}): the upstream could not be asked (${(err as Error).message})` });
            return;
          }
          throw err;
        }
        if (!head || head.digest === cached) {
          checkedAt.set(key, now());
          return;
        }
        o.onNotice?.({ kind: 'moved', name, ref, message: `${registry}/${path}:${r.tag} moved upstream from ${cached} to ${head.digest}` });
      }
      const target = repo ?? (await metadata.repositories.ensure(name));
      const digest = await storeManifest(target, client, path, r.tag, 0);
      await metadata.tags.set(target.id, r.tag, digest);
      checkedAt.set(key, now());
      o.onNotice?.({ kind: 'fetched', name, ref, message: `fetched ${registry}/${path}:${r.tag} (${digest})` });
    });
  }

  async function blob(name: string, ref: string): Promise<void> {
    if (!isDigest(ref)) return; // the handler answers DIGEST_INVALID
    const repo = await metadata.repositories.get(name);
    if (!repo || (await metadata.repositories.hasBlob(repo.id, ref))) return;
    const referenced = (await metadata.lifecycle.inventory.referencesTo([ref])).some((x) => x.repositoryId === repo.id && x.manifestDigest !== ref);
    if (!referenced) return; // not part of any image cached here: the handler answers BLOB_UNKNOWN
    const { registry, path } = parseMirrorName(name)!;
    const client = clientFor(name, registry);
    await once(`b ${repo.id} ${ref}`, async () => {
      await metadata.lifecycle.gc.touch([ref]);
      if ((await blobs.stat(ref)) !== null) {
        if (!(await client.hasBlob(path, ref))) throw new AppError('BLOB_UNKNOWN', `blob ${ref} not found in ${registry}/${path} upstream`, { digest: ref });
      } else {
        await once(`d ${ref}`, () => download(client, path, ref));
      }
      await metadata.repositories.linkBlob(repo.id, ref);
    });
  }

  async function download(client: UpstreamClient, path: string, digest: Digest): Promise<void> {
    if ((await blobs.stat(digest)) !== null) return;
    const body = await client.openBlob(path, digest, undefined);
    const session = await blobs.startUpload();
    try {
      await blobs.append(session, body);
      await blobs.commit(session, digest);
    } catch (err) {
      body.destroy();
      await blobs.cancel(session);
      throw err;
    }
  }

  return {
    async beforeRead(kind, name, ref) {
      if (!parseMirrorName(name)) return;
      if (kind === 'manifest') await manifest(name, ref);
      else await blob(name, ref);
    },
  };
}
