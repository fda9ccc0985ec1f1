import type { Account, Metadata } from '../metadata/types.ts';
import type { BlobMaintenance } from '../storage/gc.ts';
import type { BlobSizes } from './sizes.ts';

/**
 * Storage usage. A blob (or manifest) counts for a group of repositories — an account, an application, one
 * repository — when a manifest in the group references it (or is it). It is *unique* to the group when no manifest
 * outside the group references it, and *shared* otherwise; removing everything in a group frees its unique bytes.
 * `trashBytes` are held only by removed images that are still restorable: freed when their grace window ends.
 */
export interface UsageRow {
  kind: 'account' | 'application' | 'repository';
  name: string;
  uniqueBytes: number; sharedBytes: number;
  /** unique + shared. */
  totalBytes: number;
  trashBytes: number;
  manifests: number;
  blobs: number;
}

export interface UsageReport {
  accounts: UsageRow[]; applications: UsageRow[]; repositories: UsageRow[];
  /** The whole store (administrators): files on disk, and bytes nothing references (collectable garbage). */
  store?: { blobs: number; bytes: number; referencedBytes: number; trashBytes: number; unreferencedBytes: number };
}

/** Usage of one account (or of every account, with the whole store's figures). */
export async function storageUsage(deps: { metadata: Metadata; sizes: BlobSizes; blobs: BlobMaintenance }, scope: { account?: Account }): Promise<UsageReport> {
  const md = deps.metadata;
  const accounts = scope.account ? [scope.account] : await md.accounts.list();
  const repos = await md.lifecycle.inventory.repositories(scope.account ? [scope.account.namespace] : null);
  const repoByName = new Map(repos.map((r) => [r.name, r]));

  // Owners of every digest: repositories whose manifests reference it (live), or whose removed images hold it (trash).
  const live = new Map<string, Set<string>>();
  const trash = new Map<string, Set<string>>();
  const manifestsOf = new Map<string, number>();
  for await (const page of md.lifecycle.gc.scanRefs()) {
    for (const r of page) {
      const map = r.owner.startsWith('t:') ? trash : live;
      let set = map.get(r.digest);
      if (!set) map.set(r.digest, (set = new Set()));
      set.add(r.repositoryId);
      if (r.owner === `m:${r.digest}`) manifestsOf.set(r.repositoryId, (manifestsOf.get(r.repositoryId) ?? 0) + 1);
    }
  }

  const row = async (kind: UsageRow['kind'], name: string, group: Set<string>): Promise<UsageRow> => {
    const out: UsageRow = { kind, name, uniqueBytes: 0, sharedBytes: 0, totalBytes: 0, trashBytes: 0, manifests: 0, blobs: 0 };
    for (const id of group) out.manifests += manifestsOf.get(id) ?? 0;
    for (const [digest, owners] of live) {
      if (![...owners].some((o) => group.has(o))) continue;
      const size = await deps.sizes.of(digest as `sha256:${string}`);
      out.blobs++;
      if ([...owners].every((o) => group.has(o))) out.uniqueBytes += size;
      else out.sharedBytes += size;
    }
    for (const [digest, owners] of trash) {
      if (live.has(digest) || ![...owners].some((o) => group.has(o))) continue;
      out.trashBytes += await deps.sizes.of(digest as `sha256:${string}`);
    }
    out.totalBytes = out.uniqueBytes + out.sharedBytes;
    return out;
  };

  const report: UsageReport = { accounts: [], applications: [], repositories: [] };
  for (const account of accounts) {
    const mine = repos.filter((r) => r.namespace === account.namespace);
    report.accounts.push(await row('account', account.namespace, new Set(mine.map((r) => r.id))));
    for (const app of await md.applications.list(account.id)) {
      const ids = new Set<string>();
      for (const s of await md.services.list(app.id)) {
        const r = repoByName.get(s.repository);
        if (r) ids.add(r.id);
      }
      report.applications.push(await row('application', `${account.namespace}/${app.slug}`, ids));
    }
    for (const r of mine) report.repositories.push(await row('repository', r.name, new Set([r.id])));
  }
  if (!scope.account) report.store = await storeTotals(deps, live, trash);
  return report;
}

async function storeTotals(deps: { blobs: BlobMaintenance }, live: Map<string, Set<string>>, trash: Map<string, Set<string>>) {
  const out = { blobs: 0, bytes: 0, referencedBytes: 0, trashBytes: 0, unreferencedBytes: 0 };
  for await (const page of deps.blobs.list()) {
    for (const b of page) {
      out.blobs++;
      out.bytes += b.size;
      if (b.digest && live.has(b.digest)) out.referencedBytes += b.size;
      else if (b.digest && trash.has(b.digest)) out.trashBytes += b.size;
      else out.unreferencedBytes += b.size;
    }
  }
  return out;
}
