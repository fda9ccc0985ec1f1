import type { Digest } from '../core/digest.ts';

/**
 * Kysely table types for the lifecycle milestone (migration 0004), merged into `Database` in schema.ts. Same column
 * conventions as there: ISO-8601 text timestamps, 0/1 booleans, JSON as text.
 */
export interface LifecycleTables {
  retention_policies: RetentionPoliciesTable;
  image_trash: ImageTrashTable;
  image_trash_refs: ImageTrashRefsTable;
  image_trash_builds: ImageTrashBuildsTable;
  image_pulls: ImagePullsTable;
  blob_touches: BlobTouchesTable;
  lifecycle_runs: LifecycleRunsTable;
}

/** A retention policy; application_id '' is the account's default. */
export interface RetentionPoliciesTable {
  account_id: string;
  application_id: string;
  keep_last_per_branch: number | null;
  keep_newer_than_days: number | null;
  keep_pulled_within_days: number;
  grace_days: number;
  enabled: number;
  updated_at: string;
  updated_by: string;
}

/** A deleted image, restorable until purged; `tags`, `manifests` and `build_ids` are JSON. */
export interface ImageTrashTable {
  id: string;
  account_id: string;
  application_id: string | null;
  repo_id: string;
  repository: string;
  digest: Digest;
  tags: string;
  manifests: string;
  build_ids: string;
  reason: string;
  removed_by: string;
  removed_at: string;
  expires_at: string;
  restored_at: string | null;
  purged_at: string | null;
  bytes: number;
}

/** Blobs and manifests a restorable trash entry needs (the collector keeps them). */
export interface ImageTrashRefsTable { trash_id: string; repo_id: string; digest: Digest }

/** Builds whose image is in the trash or purged (a deploy builds such a commit again). */
export interface ImageTrashBuildsTable { trash_id: string; build_id: string }

/** Last time a manifest was pulled (GET/HEAD) from a repository, flushed in batches by the registry. */
export interface ImagePullsTable { repo_id: string; digest: Digest; pulled_at: string }

/** Last time something announced it is about to rely on a blob (the collector's fence, see lifecycle/gc.ts). */
export interface BlobTouchesTable { digest: Digest; touched_at: string }

/** One retention, garbage-collection or fsck run; `options`, `summary`, `report` are JSON. */
export interface LifecycleRunsTable {
  id: string;
  kind: string;
  status: string;
  trigger: string;
  requested_by: string;
  dry_run: number;
  options: string;
  started_at: string;
  heartbeat_at: string;
  finished_at: string | null;
  summary: string | null;
  report: string | null;
  error: string | null;
}
