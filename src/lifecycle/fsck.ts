import type { Digest } from '../core/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import type { InventoryManifest, Metadata } from '../metadata/types.ts';
import type { BlobMaintenance } from '../storage/gc.ts';
import type { BlobReader } from '../storage/types.ts';
import { recoverTrash } from './gc.ts';

/**
 * fsck: checks the registry against itself.
 *   blobs      every file under blobs/ is re-hashed; its content must match its name (stray names are reported)
 *   manifests  every manifest's bytes exist and hash right, parse, and name the references recorded for it; every
 *              blob it references exists and hashes right; every child manifest exists in its repository
 *   tags       every tag points at a stored manifest that is not broken
 *   links      every repository→blob link has its blob
 *   trash      every restorable trash entry (but fsck's own quarantine records) still has what it needs
 *   gc-trash   no batch of a crashed collection is left over
 * With `repair`: corrupt blobs and stray files go to quarantine/ (and their links are dropped, so clients upload
 * them again), broken manifests go to the image trash (reason 'fsck'; tags and all, so clients get 404 rather than
 * a broken pull), dangling tags and links are deleted, incomplete trash entries are purged, and crash leftovers are
 * recovered. fsck runs under the lifecycle run lease (never beside a collection); pushes may go on meanwhile, so
 * each problem is checked a second time before it is reported.
 */

export type ProblemKind =
  | 'blob-corrupt' | 'stray-file' | 'manifest-bytes-missing' | 'manifest-bytes-corrupt' | 'manifest-unparsable'
  | 'manifest-refs-mismatch' | 'manifest-blob-missing' | 'manifest-blob-corrupt' | 'manifest-child-missing'
  | 'manifest-child-broken' | 'tag-dangling' | 'tag-target-broken' | 'link-dangling' | 'trash-incomplete' | 'gc-leftover';

export interface Problem { kind: ProblemKind; repository?: string; digest?: string; tag?: string; detail: string; repaired?: string }

export interface FsckReport {
  /** No problem found. */
  healthy: boolean;
  /** 0 healthy; 1 problems found and all repaired; 2 problems remain. */
  exitCode: 0 | 1 | 2;
  checked: { blobs: number; bytes: number; manifests: number; links: number; trashEntries: number };
  problems: Problem[];
  startedAt: string; finishedAt: string;
}

export interface FsckDeps { metadata: Metadata; blobs: BlobMaintenance; reader: BlobReader; maxManifestBytes: number }
export interface FsckOptions {
  repair: boolean;
  /** Grace window of the trash entries that quarantined manifests get. */
  graceMs: number;
  minBlobAgeMs: number;
  /** Blobs hashed at once. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (phase: string) => Promise<void> | void;
}

/** Runs fsck (and repairs when asked). Throws the signal's reason when aborted. */
export async function fsck(deps: FsckDeps, opts: FsckOptions): Promise<FsckReport> {
  const md = deps.metadata;
  const startedAt = new Date().toISOString();
  const problems: Problem[] = [];
  const checked = { blobs: 0, bytes: 0, manifests: 0, links: 0, trashEntries: 0 };
  const progress = async (phase: string) => {
    opts.signal?.throwIfAborted();
    await opts.onProgress?.(phase);
  };
  const repos = new Map((await md.lifecycle.inventory.repositories(null)).map((r) => [r.id, r.name]));
  const repoName = (id: string) => repos.get(id) ?? id;

  // Blobs: re-hash everything. status: digest → ok | corrupt (absent: missing).
  await progress('blobs');
  const status = new Map<string, 'ok' | 'corrupt'>();
  const strays: string[] = [];
  for await (const page of deps.blobs.list(256)) {
    const queue = [...page];
    const worker = async () => {
      for (let b = queue.shift(); b; b = queue.shift()) {
        checked.blobs++;
        checked.bytes += b.size;
        if (b.digest === null) { strays.push(b.path); continue; }
        const v = await deps.blobs.verify(b.digest, opts.signal);
        if (v !== 'missing') status.set(b.digest, v);
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency ?? 2 }, worker));
    await progress('blobs');
  }
  const blobState = async (d: Digest): Promise<'ok' | 'corrupt' | 'missing'> => {
    const s = status.get(d);
    if (s) return s;
    const v = await deps.blobs.verify(d, opts.signal); // written after the walk passed its directory
    if (v !== 'missing') status.set(d, v);
    return v;
  };
  for (const [d, s] of status) if (s === 'corrupt') problems.push({ kind: 'blob-corrupt', digest: d, detail: `the content of ${d} does not match its digest` });
  for (const path of strays) problems.push({ kind: 'stray-file', detail: `${path} is not named by a digest` });

  // Manifests: bytes, parsed references, blobs; children are checked once every manifest is known.
  await progress('manifests');
  const broken = new Map<string, InventoryManifest>();
  const all = new Map<string, InventoryManifest>();
  const unrecordedRefs = new Map<string, { m: InventoryManifest; blobs: Digest[]; children: Digest[] }>();
  const manifestProblem = (m: InventoryManifest, kind: ProblemKind, detail: string, digest: string = m.digest) => {
    problems.push({ kind, repository: repoName(m.repositoryId), digest, detail });
    broken.set(`${m.repositoryId} ${m.digest}`, m);
  };
  let after: { repositoryId: string; digest: string } | null = null;
  for (;;) {
    const page = await md.lifecycle.inventory.manifestPage(after, 500);
    for (const m of page) {
      checked.manifests++;
      all.set(`${m.repositoryId} ${m.digest}`, m);
      const own = await blobState(m.digest);
      if (own !== 'ok') {
        manifestProblem(m, own === 'missing' ? 'manifest-bytes-missing' : 'manifest-bytes-corrupt', `the bytes of manifest ${m.digest} are ${own}`);
        continue;
      }
      let content: { blobs: Digest[]; children: Digest[] };
      try {
        const parsed = parseManifest(await deps.reader.readAll(m.digest, deps.maxManifestBytes), m.mediaType);
        content = { blobs: parsed.blobs.map((b) => b.digest), children: parsed.manifests.map((c) => c.digest) };
      } catch (err) {
        manifestProblem(m, 'manifest-unparsable', `manifest ${m.digest} cannot be parsed: ${(err as Error).message}`);
        continue;
      }
      // A reference the content makes but the store did not record would let the collector take a needed blob.
      const unrecorded = [...content.blobs.filter((b) => !m.blobs.includes(b)), ...content.children.filter((c) => !m.children.includes(c))];
      if (unrecorded.length > 0) {
        unrecordedRefs.set(`${m.repositoryId} ${m.digest}`, { m, ...content });
        problems.push({ kind: 'manifest-refs-mismatch', repository: repoName(m.repositoryId), digest: m.digest, detail: `${unrecorded.length} references of the manifest are not recorded` });
      }
      m.children = [...new Set([...m.children, ...content.children])];
      for (const b of new Set([...m.blobs, ...content.blobs])) {
        const s = await blobState(b);
        if (s !== 'ok') manifestProblem(m, s === 'missing' ? 'manifest-blob-missing' : 'manifest-blob-corrupt', `blob ${b} of manifest ${m.digest} is ${s}`, m.digest);
      }
    }
    await progress('manifests');
    if (page.length < 500) break;
    after = { repositoryId: page.at(-1)!.repositoryId, digest: page.at(-1)!.digest };
  }
  for (const m of all.values()) {
    for (const c of m.children) {
      if (!all.has(`${m.repositoryId} ${c}`) && !(await md.manifests.get(m.repositoryId, c))) {
        manifestProblem(m, 'manifest-child-missing', `child manifest ${c} of index ${m.digest} is not stored`);
      }
    }
  }
  // An index with a broken child is broken too.
  for (let grew = true; grew;) {
    grew = false;
    for (const m of all.values()) {
      const k = `${m.repositoryId} ${m.digest}`;
      if (broken.has(k)) continue;
      const bad = m.children.find((c) => broken.has(`${m.repositoryId} ${c}`));
      if (bad) {
        manifestProblem(m, 'manifest-child-broken', `child manifest ${bad} of index ${m.digest} is broken`);
        grew = true;
      }
    }
  }
  for (const m of broken.values()) {
    for (const t of m.tags) problems.push({ kind: 'tag-target-broken', repository: repoName(m.repositoryId), tag: t.name, digest: m.digest, detail: `tag ${t.name} points at a broken manifest` });
  }
  for (const t of await md.lifecycle.inventory.danglingTags()) {
    problems.push({ kind: 'tag-dangling', repository: repoName(t.repositoryId), tag: t.name, digest: t.digest, detail: `tag ${t.name} points at ${t.digest}, which is not stored` });
  }

  // Links and trash.
  await progress('links');
  const danglingLinks: Array<{ repositoryId: string; digest: Digest }> = [];
  for await (const page of md.lifecycle.gc.scanLinks()) {
    for (const l of page) {
      checked.links++;
      if ((await blobState(l.digest)) === 'missing' && (await deps.blobs.stat(l.digest)) === null) {
        danglingLinks.push(l);
        problems.push({ kind: 'link-dangling', repository: repoName(l.repositoryId), digest: l.digest, detail: `the repository links blob ${l.digest}, which is not stored` });
      }
    }
  }
  await progress('trash');
  const incomplete: string[] = [];
  for (const e of await md.lifecycle.trash.list({ state: 'removed', limit: 1_000_000 })) {
    checked.trashEntries++;
    // fsck's own quarantine records are incomplete by definition; they become restorable again if the missing
    // blobs are pushed again, and are collected like any other entry when their grace window ends.
    if (e.reason === 'fsck') continue;
    const need = new Set<Digest>(e.manifests.flatMap((m) => [m.digest, ...m.blobs]));
    const missing = [];
    for (const d of need) if ((await blobState(d)) !== 'ok') missing.push(d);
    if (missing.length > 0) {
      incomplete.push(e.id);
      problems.push({ kind: 'trash-incomplete', repository: e.repository, digest: e.digest, detail: `removed image ${e.id} can no longer be restored: ${missing.length} of its blobs are missing or corrupt` });
    }
  }
  const leftovers = await deps.blobs.trashBatches();
  for (const b of leftovers) problems.push({ kind: 'gc-leftover', detail: `gc-trash/${b} was left by an interrupted collection` });

  if (opts.repair && problems.length > 0) {
    await progress('repair');
    await repair(deps, opts, problems, { status, strays, broken, unrecordedRefs, danglingLinks, incomplete, leftovers: leftovers.length > 0, repoName });
  }
  const remaining = problems.filter((p) => !p.repaired).length;
  return {
    healthy: problems.length === 0,
    exitCode: problems.length === 0 ? 0 : remaining === 0 ? 1 : 2,
    checked, problems, startedAt, finishedAt: new Date().toISOString(),
  };
}

async function repair(deps: FsckDeps, opts: FsckOptions, problems: Problem[], found: {
  status: Map<string, 'ok' | 'corrupt'>; strays: string[]; broken: Map<string, InventoryManifest>;
  unrecordedRefs: Map<string, { m: InventoryManifest; blobs: Digest[]; children: Digest[] }>;
  danglingLinks: Array<{ repositoryId: string; digest: Digest }>; incomplete: string[]; leftovers: boolean; repoName: (id: string) => string;
}): Promise<void> {
  const md = deps.metadata;
  const mark = (pred: (p: Problem) => boolean, how: string) => problems.filter(pred).forEach((p) => (p.repaired ??= how));
  if (found.leftovers) {
    await recoverTrash(deps, opts.minBlobAgeMs);
    mark((p) => p.kind === 'gc-leftover', 'recovered');
  }
  for (const [d, s] of found.status) {
    if (s !== 'corrupt') continue;
    await deps.blobs.quarantine(d as Digest);
    mark((p) => p.kind === 'blob-corrupt' && p.digest === d, 'moved to quarantine/');
  }
  for (const path of found.strays) {
    await deps.blobs.quarantine({ path });
    mark((p) => p.kind === 'stray-file' && p.detail.startsWith(path), 'moved to quarantine/');
  }
  // Broken manifests into the trash, indexes before their children (so no index is left with a missing child).
  const order = [...found.broken.values()].sort((a, b) => b.children.length - a.children.length);
  for (const m of order) {
    const repository = found.repoName(m.repositoryId);
    const account = await md.accounts.getByNamespace(repository.split('/')[0]!);
    if (!account) continue; // image_trash needs an owner; reported, left unrepaired
    const r = await md.lifecycle.trash.remove({
      accountId: account.id, applicationId: null, repositoryId: m.repositoryId, repository, digest: m.digest, cascade: [],
      buildIds: await buildsOf(md, repository, m), reason: 'fsck', removedBy: 'fsck', graceMs: opts.graceMs, bytes: 0, guard: null,
    });
    if (!r.ok) continue;
    const how = `moved to the trash (${r.entry.id})`;
    mark((p) => p.repository === repository && p.digest === m.digest && (p.kind.startsWith('manifest-') || p.kind === 'tag-target-broken'), how);
  }
  for (const { m, blobs, children } of found.unrecordedRefs.values()) {
    const rec = await md.manifests.get(m.repositoryId, m.digest);
    if (!rec) continue;
    const { createdAt: _c, ...fields } = rec;
    await md.manifests.put({ ...fields, blobs, children });
    mark((p) => p.kind === 'manifest-refs-mismatch' && p.digest === m.digest && p.repository === found.repoName(m.repositoryId), 'references recorded');
  }
  for (const p of problems.filter((x) => x.kind === 'tag-dangling')) {
    const repo = await md.repositories.get(p.repository!);
    if (repo) await md.tags.delete(repo.id, p.tag!);
    p.repaired = 'deleted';
  }
  // Links to blobs that are gone (or were just quarantined).
  const quarantined = [...found.status].filter(([, s]) => s === 'corrupt').map(([d]) => d);
  for await (const page of md.lifecycle.gc.scanLinks()) {
    for (const l of page) if (quarantined.includes(l.digest)) await md.lifecycle.gc.deleteLink(l.repositoryId, l.digest);
  }
  for (const l of found.danglingLinks) await md.lifecycle.gc.deleteLink(l.repositoryId, l.digest);
  mark((p) => p.kind === 'link-dangling', 'deleted');
  for (const id of found.incomplete) await md.lifecycle.trash.purge(id);
  mark((p) => p.kind === 'trash-incomplete', 'purged (cannot be restored)');
}

/** Builds whose image is this manifest: a later deploy of their commit builds it again instead of reusing it. */
async function buildsOf(md: Metadata, repository: string, m: InventoryManifest): Promise<string[]> {
  const service = m.tags.length > 0 ? await findService(md, repository) : null;
  if (!service) return [];
  const builds = await md.builds.list({ serviceId: service, limit: 200 });
  return builds.filter((b) => b.imageDigest === m.digest).map((b) => b.id);
}

async function findService(md: Metadata, repository: string): Promise<string | null> {
  const account = await md.accounts.getByNamespace(repository.split('/')[0]!);
  if (!account) return null;
  for (const app of await md.applications.list(account.id)) {
    const s = (await md.services.list(app.id)).find((x) => x.repository === repository);
    if (s) return s.id;
  }
  return null;
}
