import { AppError } from '../core/errors.ts';
import type { Digest } from '../core/digest.ts';
import type { Account, Application, ImageBuild, InventoryManifest, Metadata, Repository, RetentionPolicy } from '../metadata/types.ts';
import { evaluateRepository, type Decision, type ImageFacts, type KeepReason } from './policy.ts';
import type { BlobSizes } from './sizes.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * Evaluation reads the deployments at `t`, but a deployment the deployer stamped a moment before `t` may become
 * visible only after it (its timestamp is taken before its row is written, and its items are set a moment later
 * still). The removal guard therefore re-reads, in the removal's own transaction, every deployment created from
 * `t - GUARD_MARGIN_MS` on that the evaluation did not read with its items: one that uses the image, or has no
 * items yet, skips the removal (the next run retries), so an image a deployment has just started to use is never
 * removed. Recent deployments the evaluation did read, and those that do not use the image, do not block it.
 */
const GUARD_MARGIN_MS = 60_000;

/** The policy in force for an application, and where it comes from. */
export interface EffectivePolicy extends RetentionPolicy { source: 'application' | 'account' }

/** One image in a report. */
export interface ImageReport {
  repositoryId: string; repository: string; digest: Digest; tags: string[]; images: string[]; branch: string | null;
  producedAt: string; lastPulledAt: string | null; buildIds: string[];
  /** Bytes freed once the removal is collected (blobs no other remaining image uses). */
  bytes: number;
  /** Untagged manifests removed with it (children of an index, referrers). */
  cascade: Digest[];
  /** removed (real run), would-remove (dry run), skipped (something changed between evaluation and removal), kept. */
  status: 'removed' | 'would-remove' | 'skipped' | 'kept';
  reasons: KeepReason[];
  skippedReason?: string;
  /** Trash entry id (real run): restore with it. */
  trashId?: string;
  restorableUntil?: string;
}

export interface AppRetentionReport {
  namespace: string; application: string; applicationId: string;
  policy: EffectivePolicy | null;
  images: number; kept: number; removed: number; bytesFreed: number;
  /** Every image that goes (or would go), then every image kept with its reasons. */
  decisions: ImageReport[];
}

export interface RetentionReport {
  dryRun: boolean; evaluatedAt: string;
  applications: AppRetentionReport[];
  totals: { applications: number; images: number; kept: number; removed: number; skipped: number; bytesFreed: number };
}

/** What a retention pass needs. */
export interface RetentionDeps {
  metadata: Metadata;
  sizes: BlobSizes;
  /** host[:port] for image names in reports. */
  registryHost: string;
  /** Writes buffered pull records, so "pulled within P days" sees the latest pulls. */
  flushPulls?: () => Promise<void>;
  now?: () => number;
}

/** The policy for an application: its own, else the account default; null when neither exists. */
export async function effectivePolicy(metadata: Metadata, accountId: string, applicationId: string): Promise<EffectivePolicy | null> {
  const own = await metadata.lifecycle.policies.get(accountId, applicationId);
  if (own) return { ...own, source: 'application' };
  const dflt = await metadata.lifecycle.policies.get(accountId, null);
  return dflt ? { ...dflt, source: 'account' } : null;
}

/** An application's evaluated decisions and the facts the removal guard needs. */
interface Evaluated {
  account: Account; app: Application; policy: EffectivePolicy | null; evaluatedAt: string; seenDeployments: string[];
  repos: Map<string, Repository>;
  manifests: InventoryManifest[];
  decisions: Decision[];
}

/**
 * Applies (or, with dryRun, only evaluates) retention for the given applications. Applications without an enabled
 * policy are reported with policy null and nothing removed. A real run removes images one transaction each
 * (metadata trash.remove) with a guard that skips an image whose tags, deployments or builds changed since the
 * evaluation, so a removal never races a push or a deployment; skipped images are reported and retried next time.
 */
export async function applyRetention(deps: RetentionDeps, targets: Array<{ account: Account; app: Application }>,
  opts: { dryRun: boolean; removedBy: string }): Promise<RetentionReport> {
  const now = (deps.now ?? Date.now)();
  await deps.flushPulls?.();
  const evaluated: Evaluated[] = [];
  for (const t of targets) evaluated.push(await evaluate(deps, t.account, t.app, now));

  const bytes = await freedBytes(deps, evaluated);
  const report: RetentionReport = {
    dryRun: opts.dryRun, evaluatedAt: new Date(now).toISOString(), applications: [],
    totals: { applications: 0, images: 0, kept: 0, removed: 0, skipped: 0, bytesFreed: 0 },
  };
  for (const e of evaluated) {
    const app: AppRetentionReport = {
      namespace: e.account.namespace, application: e.app.slug, applicationId: e.app.id, policy: e.policy,
      images: e.decisions.length, kept: 0, removed: 0, bytesFreed: 0, decisions: [],
    };
    const removedHere: ImageReport[] = [];
    for (const d of e.decisions) {
      const row = imageReport(deps.registryHost, d, bytes.perImage.get(key(d.image.repositoryId, d.image.digest)) ?? 0, opts.dryRun);
      if (!d.keep && !opts.dryRun) {
        const r = await deps.metadata.lifecycle.trash.remove({
          accountId: e.account.id, applicationId: e.app.id, repositoryId: d.image.repositoryId, repository: d.image.repository,
          digest: d.image.digest, cascade: d.cascade, buildIds: d.image.buildIds, reason: 'retention', removedBy: opts.removedBy,
          graceMs: (e.policy?.graceDays ?? 7) * DAY_MS, bytes: row.bytes,
          guard: { tags: d.image.tags, evaluatedAt: e.evaluatedAt, seenDeployments: e.seenDeployments },
        });
        if (r.ok) Object.assign(row, { status: 'removed', trashId: r.entry.id, restorableUntil: r.entry.expiresAt });
        else Object.assign(row, { status: 'skipped', skippedReason: r.reason });
      }
      if (row.status === 'kept') app.kept++;
      else if (row.status === 'skipped') report.totals.skipped++;
      else {
        app.removed++;
        app.bytesFreed += row.bytes;
        removedHere.push(row);
      }
      app.decisions.push(row);
    }
    report.applications.push(app);
    report.totals.applications++;
    report.totals.images += app.images;
    report.totals.kept += app.kept;
    report.totals.removed += app.removed;
    if (!opts.dryRun && removedHere.length > 0) {
      // The timeline keeps its build entries (they say "image removed by retention"); this event says when and how much.
      await deps.metadata.events.append({
        accountId: e.account.id, applicationId: e.app.id, kind: 'retention.applied',
        payload: {
          title: `Retention removed ${removedHere.length} image${removedHere.length === 1 ? '' : 's'}`, removedBy: opts.removedBy,
          bytesFreed: app.bytesFreed, restorableUntil: removedHere[0]!.restorableUntil,
          images: removedHere.slice(0, 100).map((i) => ({ image: i.images[0] ?? `${i.repository}@${i.digest}`, digest: i.digest, trashId: i.trashId })),
        },
      });
    }
  }
  report.totals.bytesFreed = opts.dryRun ? bytes.total : report.applications.reduce((s, a) => s + a.bytesFreed, 0);
  return report;
}

/** Every (account, application) of one account, or of all accounts. */
export async function retentionTargets(metadata: Metadata, accountId?: string): Promise<Array<{ account: Account; app: Application }>> {
  const accounts = accountId ? [await metadata.accounts.get(accountId)] : await metadata.accounts.list();
  const out: Array<{ account: Account; app: Application }> = [];
  for (const account of accounts) {
    if (!account) throw new AppError('NOT_FOUND', `account ${accountId} not found`);
    for (const app of await metadata.applications.list(account.id)) out.push({ account, app });
  }
  return out;
}

const key = (repositoryId: string, digest: string) => `${repositoryId} ${digest}`;

async function evaluate(deps: RetentionDeps, account: Account, app: Application, now: number): Promise<Evaluated> {
  const md = deps.metadata;
  const policy = await effectivePolicy(md, account.id, app.id);
  const evaluatedAt = new Date(now - GUARD_MARGIN_MS).toISOString();
  const repos = new Map<string, Repository>();
  for (const s of await md.services.list(app.id)) {
    const r = await md.repositories.get(s.repository);
    // A repository older than its service was not made by it (an import, or a name clash stored before services were
    // refused a repository that exists): never the service's to prune.
    if (r && r.createdAt >= s.createdAt) repos.set(r.id, r);
  }
  if (!policy?.enabled || repos.size === 0) return { account, app, policy, evaluatedAt, seenDeployments: [], repos, manifests: [], decisions: [] };

  const ids = [...repos.keys()];
  // Recent deployments read with their items: the guard need not distrust these (see GUARD_MARGIN_MS).
  const seenDeployments = (await md.deployments.list(app.id, { limit: 100 }))
    .filter((d) => d.createdAt >= evaluatedAt && d.items.length > 0).map((d) => d.id);
  const deployments = await md.lifecycle.inventory.deploymentsInUse(app.id);
  const builds = await md.lifecycle.inventory.builds(app.id);
  const manifests = await md.lifecycle.inventory.manifests(ids);
  const pulls = new Map((await md.lifecycle.pulls.lastPulled(ids)).map((p) => [key(p.repositoryId, p.digest), Date.parse(p.pulledAt)]));
  const restored = new Map<string, number>();
  for (const e of await md.lifecycle.trash.list({ applicationId: app.id, state: 'all', limit: 10_000 })) {
    if (e.restoredAt) restored.set(key(e.repositoryId, e.digest), Math.max(restored.get(key(e.repositoryId, e.digest)) ?? 0, Date.parse(e.restoredAt)));
  }

  const buildsById = new Map(builds.map((b) => [b.id, b]));
  const deployed = new Set<string>();
  for (const d of deployments) {
    for (const item of d.items) {
      const b = buildsById.get(item.buildId);
      if (b?.imageDigest) deployed.add(`${b.repository}@${b.imageDigest}`);
      if (b?.commit) deployed.add(`${b.repository}:${b.commit}`);
    }
  }
  const rules = {
    keepLastPerBranch: policy.keepLastPerBranch,
    keepNewerThanMs: policy.keepNewerThanDays === null ? null : policy.keepNewerThanDays * DAY_MS,
    keepPulledWithinMs: policy.keepPulledWithinDays * DAY_MS,
    keepRestoredWithinMs: policy.graceDays * DAY_MS,
  };
  const decisions: Decision[] = [];
  for (const [repoId, repo] of repos) {
    const inRepo = manifests.filter((m) => m.repositoryId === repoId);
    const images = inRepo.filter((m) => m.tags.length > 0)
      .map((m) => factsOf(m, repo, builds.filter((b) => b.repository === repo.name), deployed,
        pulls.get(key(repoId, m.digest)) ?? null, restored.get(key(repoId, m.digest)) ?? null));
    decisions.push(...evaluateRepository(rules, images, inRepo, now));
  }
  return { account, app, policy, evaluatedAt, seenDeployments, repos, manifests, decisions };
}

function factsOf(m: InventoryManifest, repo: Repository, builds: ImageBuild[], deployed: Set<string>, lastPulledAt: number | null, restoredAt: number | null): ImageFacts {
  const tagNames = new Set(m.tags.map((t) => t.name));
  const mine = builds.filter((b) => b.imageDigest === m.digest || (b.commit !== null && tagNames.has(b.commit)))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  const times = [Date.parse(m.createdAt), ...m.tags.map((t) => Date.parse(t.updatedAt)),
    ...mine.filter((b) => b.imageDigest === m.digest && b.finishedAt).map((b) => Date.parse(b.finishedAt!))];
  return {
    repositoryId: repo.id, repository: repo.name, digest: m.digest, tags: m.tags,
    producedAt: Math.max(...times.filter((t) => Number.isFinite(t))),
    branch: mine[0]?.branch ?? null,
    buildIds: mine.filter((b) => b.imageDigest === m.digest).map((b) => b.id),
    lastPulledAt, restoredAt,
    deployed: deployed.has(`${repo.name}@${m.digest}`) || m.tags.some((t) => deployed.has(`${repo.name}:${t.name}`)),
  };
}

/**
 * Bytes freed by the removals, once collected: blobs and manifests of removed manifests that no remaining manifest
 * (in any repository) references. Per image, and for the whole run (an image's own count may include bytes it
 * shares with another removed image; the total counts them once).
 */
async function freedBytes(deps: RetentionDeps, evaluated: Evaluated[]): Promise<{ total: number; perImage: Map<string, number> }> {
  const removed = new Set<string>();
  const digestsOf = new Map<string, Set<Digest>>();
  for (const e of evaluated) {
    for (const d of e.decisions.filter((x) => !x.keep)) {
      const mine = new Set<Digest>();
      const repoManifests = [d.image.digest, ...d.cascade];
      for (const md of repoManifests) {
        removed.add(key(d.image.repositoryId, md));
        mine.add(md);
      }
      digestsOf.set(key(d.image.repositoryId, d.image.digest), mine);
    }
  }
  if (removed.size === 0) return { total: 0, perImage: new Map() };
  const blobsOf = new Map<string, Digest[]>();
  for (const e of evaluated) for (const m of e.manifests) blobsOf.set(key(m.repositoryId, m.digest), m.blobs);
  for (const [k, set] of digestsOf) {
    const repoId = k.split(' ')[0]!;
    for (const md of [...set]) for (const b of blobsOf.get(key(repoId, md)) ?? []) set.add(b);
  }
  const all = [...new Set([...digestsOf.values()].flatMap((s) => [...s]))];
  const stillUsed = new Set<string>();
  for (const r of await deps.metadata.lifecycle.inventory.referencesTo(all)) {
    if (!removed.has(key(r.repositoryId, r.manifestDigest))) stillUsed.add(r.digest);
  }
  const size = async (d: Digest) => (stillUsed.has(d) ? 0 : await deps.sizes.of(d));
  const perImage = new Map<string, number>();
  for (const [k, set] of digestsOf) {
    let n = 0;
    for (const d of set) n += await size(d);
    perImage.set(k, n);
  }
  let total = 0;
  for (const d of all) total += await size(d);
  return { total, perImage };
}

function imageReport(host: string, d: Decision, bytes: number, dryRun: boolean): ImageReport {
  const i = d.image;
  return {
    repositoryId: i.repositoryId, repository: i.repository, digest: i.digest, tags: i.tags.map((t) => t.name), images: i.tags.map((t) => `${host}/${i.repository}:${t.name}`),
    branch: i.branch, producedAt: new Date(i.producedAt).toISOString(),
    lastPulledAt: i.lastPulledAt === null ? null : new Date(i.lastPulledAt).toISOString(), buildIds: i.buildIds,
    bytes: d.keep ? 0 : bytes, cascade: d.cascade,
    status: d.keep ? 'kept' : dryRun ? 'would-remove' : 'removed', reasons: d.reasons,
  };
}
