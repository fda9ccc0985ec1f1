import type { Digest } from '../core/digest.ts';
import type { Deployment } from './builds-types.ts';
import type { Repository } from './types.ts';

/**
 * Contracts for the lifecycle milestone: retention policies, the image trash, last-pulled times, the garbage
 * collector's view of references and links, and the history of lifecycle runs. Same rules as types.ts: async, null
 * for "not found", ISO-8601 UTC timestamps. Grouped under `Metadata.lifecycle`.
 */

export interface RetentionPolicy {
  accountId: string;
  /** null: the account's default, for applications without their own policy. */
  applicationId: string | null;
  /** Keep the newest N images of every branch (null: this rule keeps nothing). */
  keepLastPerBranch: number | null;
  /** Keep images newer than this many days (null: this rule keeps nothing). */
  keepNewerThanDays: number | null;
  /** Always keep images pulled within this many days. */
  keepPulledWithinDays: number;
  /** Removed images stay restorable this long before their blobs may be collected. */
  graceDays: number;
  enabled: boolean;
  updatedAt: string;
  updatedBy: string;
}

export interface PoliciesRepo {
  get(accountId: string, applicationId: string | null): Promise<RetentionPolicy | null>;
  /** Creates or replaces a policy. Throws AppError NOT_FOUND when the account does not exist. */
  set(p: Omit<RetentionPolicy, 'updatedAt'>): Promise<RetentionPolicy>;
  /** Resolves to whether a policy was there. */
  delete(accountId: string, applicationId: string | null): Promise<boolean>;
  /** Policies of one account (or of all), account defaults first. */
  list(accountId?: string): Promise<RetentionPolicy[]>;
}

/** A manifest as kept in the trash: enough to put its rows back. */
export interface TrashedManifest {
  digest: Digest; mediaType: string; size: number; artifactType: string | null; subject: Digest | null;
  annotations: Record<string, string> | null; createdAt: string;
  blobs: Digest[]; children: Digest[];
}
export interface TrashedTag { name: string; updatedAt: string }
export type TrashReason = 'retention' | 'fsck' | 'manual';

/** A removed image: its root manifest, the untagged manifests that went with it, and its tags. */
export interface TrashEntry {
  id: string; accountId: string; applicationId: string | null;
  repositoryId: string; repository: string;
  /** The image's root manifest. */
  digest: Digest;
  tags: TrashedTag[];
  /** Root first, then the untagged children and referrers removed with it. */
  manifests: TrashedManifest[];
  /** Builds that produced this image. */
  buildIds: string[];
  reason: TrashReason; removedBy: string;
  removedAt: string; expiresAt: string; restoredAt: string | null; purgedAt: string | null;
  /** Bytes the removal frees once purged and collected (estimated at removal). */
  bytes: number;
  state: 'removed' | 'restored' | 'purged';
}

/** Facts an evaluation relied on; when one no longer holds, the removal is skipped. */
export interface RemovalGuard {
  /** The image's tags exactly as evaluated; a tag added, moved or re-pushed since skips the removal. */
  tags: TrashedTag[];
  /**
   * Deployments created from this time on may have been invisible to the evaluation: one of them that uses the
   * image (its builds or commit), or whose items are not recorded yet, skips the removal — unless it is in
   * `seenDeployments`.
   */
  evaluatedAt: string;
  /** Deployments created since `evaluatedAt` that the evaluation saw with their items (so it accounted for them). */
  seenDeployments: string[];
}

export interface RemoveInput {
  accountId: string; applicationId: string | null; repositoryId: string; repository: string;
  digest: Digest;
  /** Untagged manifests that go with the image (children of an index, referrers). */
  cascade: Digest[];
  buildIds: string[]; reason: TrashReason; removedBy: string;
  /** The grace window: the entry expires this long after removal. */
  graceMs: number;
  bytes: number;
  /** null: no checks beyond existence (fsck quarantine, manual removal). */
  guard: RemovalGuard | null;
}
export type RemoveResult = { ok: true; entry: TrashEntry } | { ok: false; reason: string };

export interface TrashRepo {
  /**
   * In one transaction: checks the guard, records the entry with the references it needs (so the collector keeps
   * them), and deletes the tags and manifests. Resolves to `{ ok: false, reason }` when the guard fails or the image
   * is gone.
   */
  remove(input: RemoveInput): Promise<RemoveResult>;
  get(id: string): Promise<TrashEntry | null>;
  /** Newest first. `state: 'removed'` lists only restorable entries. */
  list(filter: { accountId?: string; applicationId?: string; state?: 'removed' | 'all'; limit: number }): Promise<TrashEntry[]>;
  /**
   * Puts the manifests, links and tags back. Throws NOT_FOUND for an unknown id, CONFLICT when the entry was
   * purged or restored already, or a tag now points at another manifest.
   */
  restore(id: string): Promise<TrashEntry>;
  /** Marks restorable entries with expires_at <= `now` purged and forgets their references; resolves to them. */
  purgeExpired(now: string): Promise<TrashEntry[]>;
  /** Marks one entry purged (fsck: its content is gone). */
  purge(id: string): Promise<void>;
  /** For each build whose image is removed (or purged): the entry. */
  removedImages(buildIds: string[]): Promise<Map<string, TrashEntry>>;
}

export interface PullsRepo {
  /** Records pulls, keeping the latest time per (repository, manifest). Unknown repositories are ignored. */
  record(pulls: Array<{ repositoryId: string; digest: Digest; at: string }>): Promise<void>;
  lastPulled(repositoryIds: string[]): Promise<Array<{ repositoryId: string; digest: Digest; pulledAt: string }>>;
}

/** One reference the collector must honour: `owner` is `m:<manifest digest>` or `t:<trash entry id>`. */
export interface GcRef { repositoryId: string; digest: Digest; owner: string }
export interface BlobLinkRow { repositoryId: string; digest: Digest; createdAt: string }
export interface SweepBatch { links: Array<{ repositoryId: string; digest: Digest }>; blobs: Digest[] }
export interface SweepResult { linksDeleted: Array<{ repositoryId: string; digest: Digest }>; blobsMoved: Digest[] }

/** The garbage collector's view of the metadata (the reasoning is in lifecycle/gc.ts). */
export interface BlobGcRepo {
  /** Records that a caller is about to rely on these blobs existing (durable before it returns). */
  touch(digests: Digest[]): Promise<void>;
  /** In one transaction: touches `digests` and resolves to those the repository does not link. */
  claimLinks(repositoryId: string, digests: Digest[]): Promise<Digest[]>;
  /** Every manifest reference (manifest blobs, manifests themselves, restorable trash), in pages. */
  scanRefs(pageSize?: number): AsyncIterable<GcRef[]>;
  /** Every repository→blob link, in pages. */
  scanLinks(pageSize?: number): AsyncIterable<BlobLinkRow[]>;
  /** Digests touched at or after `since`. */
  touchedSince(since: string): Promise<Set<string>>;
  /**
   * In one transaction: re-checks every candidate against `cutoff` (no reference, no link left, no touch or link
   * creation at or after cutoff), deletes the dead links, and calls `moveBlobs` with the dead blobs while the
   * transaction still holds the write lock; resolves to what was deleted and moved.
   */
  sweep(batch: SweepBatch, cutoff: string, moveBlobs: (digests: Digest[]) => Promise<Digest[]>): Promise<SweepResult>;
  /** Deletes touches older than `before`. */
  pruneTouches(before: string): Promise<number>;
  /** Deletes a link (fsck repair of a link whose blob is gone). */
  deleteLink(repositoryId: string, digest: Digest): Promise<void>;
}

/** A manifest with what retention, usage and fsck need to know about it. */
export interface InventoryManifest {
  repositoryId: string; digest: Digest; mediaType: string; size: number; subject: Digest | null; createdAt: string;
  tags: TrashedTag[]; blobs: Digest[]; children: Digest[];
}
/** The image facts of a build. */
export interface ImageBuild {
  id: string; serviceId: string; repository: string; commit: string | null; branch: string;
  imageDigest: Digest | null; status: string; createdAt: string; finishedAt: string | null; deploymentId: string | null;
}

export interface InventoryRepo {
  /** Every manifest of the repositories, with tags, blobs and children. */
  manifests(repositoryIds: string[]): Promise<InventoryManifest[]>;
  /** All manifests of the store in (repository, digest) order, after `after`, at most `limit`. */
  manifestPage(after: { repositoryId: string; digest: string } | null, limit: number): Promise<InventoryManifest[]>;
  /** Builds of the application (any status) that name a commit. */
  builds(applicationId: string): Promise<ImageBuild[]>;
  /** The running deployments and the two newest succeeded ones (their images are always kept). */
  deploymentsInUse(applicationId: string): Promise<Deployment[]>;
  /** Digests (of `digests`) that a link, a reference or a touch at or after `since` still needs (gc recovery). */
  needed(digests: Digest[], since: string): Promise<Set<string>>;
  /** Every (repository, manifest) whose manifest is, or references, one of `digests`. */
  referencesTo(digests: Digest[]): Promise<Array<{ repositoryId: string; manifestDigest: Digest; digest: Digest }>>;
  /** Repositories of the namespaces (null: all), by name. */
  repositories(namespaces: string[] | null): Promise<Repository[]>;
  /** Tags whose manifest row is missing (the foreign key should make this empty). */
  danglingTags(): Promise<Array<{ repositoryId: string; name: string; digest: Digest }>>;
}

export type RunKind = 'gc' | 'fsck' | 'retention';
export type RunStatus = 'running' | 'succeeded' | 'failed';
export interface LifecycleRun {
  id: string; kind: RunKind; status: RunStatus;
  /** schedule, api, cli, web. */
  trigger: string; requestedBy: string; dryRun: boolean;
  options: Record<string, unknown>;
  startedAt: string; heartbeatAt: string; finishedAt: string | null;
  summary: Record<string, unknown> | null;
  error: string | null;
}

export interface RunsRepo {
  /**
   * Starts a run unless another one is running. A running run whose heartbeat is older than `staleBefore` (its
   * process died) is first marked failed. Throws AppError CONFLICT naming the run in progress.
   */
  start(input: { kind: RunKind; trigger: string; requestedBy: string; dryRun: boolean; options: Record<string, unknown> }, staleBefore: string): Promise<LifecycleRun>;
  heartbeat(id: string): Promise<void>;
  /** Fails running runs whose heartbeat is older than `before` (e.g. at start: this process owns the store). */
  interrupt(before: string): Promise<number>;
  /** Finishes a running run; resolves to null when it was not running (e.g. failed as stale meanwhile). */
  finish(id: string, result: { status: Exclude<RunStatus, 'running'>; summary: Record<string, unknown> | null; report: unknown; error: string | null }): Promise<LifecycleRun | null>;
  get(id: string): Promise<LifecycleRun | null>;
  /** The full report of a finished run (lists of what was removed), or null. */
  report(id: string): Promise<unknown>;
  /** Newest first. */
  list(filter: { kind?: RunKind; limit: number }): Promise<LifecycleRun[]>;
}

/** Everything lifecycle, as one member of Metadata. */
export interface LifecycleRepos {
  readonly policies: PoliciesRepo;
  readonly trash: TrashRepo;
  readonly pulls: PullsRepo;
  readonly gc: BlobGcRepo;
  readonly inventory: InventoryRepo;
  readonly runs: RunsRepo;
}
