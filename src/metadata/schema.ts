import type { Digest } from '../core/digest.ts';
import type { BuildsTables } from './schema-builds.ts';
import type { HooksTables } from './schema-hooks.ts';
import type { LifecycleTables } from './schema-lifecycle.ts';
import type { WorkersTables } from './schema-workers.ts';

export type * from './schema-builds.ts';
export type * from './schema-hooks.ts';
export type * from './schema-lifecycle.ts';
export type * from './schema-workers.ts';

/**
 * Kysely table types for the metadata store, shared by every dialect (SQLite now, PostgreSQL later).
 *
 * Column conventions, chosen so one query layer serves both databases:
 * - ids are random opaque TEXT (core/ids.ts randomId), never autoincrement;
 * - timestamps are TEXT holding `Date#toISOString()` (UTC, fixed width), so they compare and sort lexically the
 *   same way in both databases and `expires_at > :now` needs no date functions;
 * - booleans are INTEGER 0/1 (better-sqlite3 cannot bind booleans; PostgreSQL accepts 0/1 for an integer column);
 * - JSON values (pull-token repository lists, manifest annotations) are TEXT, parsed by the repo modules;
 * - `name` columns that are listed in order (repositories, tags) must compare bytewise: SQLite's default BINARY
 *   collation does; PostgreSQL needs `COLLATE "C"` (see migrations/dialect.ts).
 */
export interface Database extends BuildsTables, HooksTables, LifecycleTables, WorkersTables {
  accounts: AccountsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  api_tokens: ApiTokensTable;
  pull_tokens: PullTokensTable;
  repositories: RepositoriesTable;
  repository_blobs: RepositoryBlobsTable;
  manifests: ManifestsTable;
  manifest_blobs: ManifestBlobsTable;
  manifest_children: ManifestChildrenTable;
  tags: TagsTable;
  settings: SettingsTable;
}

/** A team; `namespace` is unique. */
export interface AccountsTable { id: string; name: string; namespace: string; created_at: string }

/** A person; `email` and `registry_username` are unique. */
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  is_admin: number;
  registry_username: string;
  registry_secret_hash: string;
  registry_secret_enc: string;
  created_at: string;
}

/** (account_id, user_id) is the key; both cascade on delete. */
export interface MembershipsTable { account_id: string; user_id: string; role: string }

/** `token_hash` is unique; a revoked token keeps its row with `revoked_at` set. */
export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** `username` is unique; `repositories` is a JSON array of names or NULL (= every repository of the account). */
export interface PullTokensTable {
  id: string;
  account_id: string;
  name: string;
  username: string;
  secret_hash: string;
  repositories: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** An image repository; `name` (`ns/app.repo`) is unique, `namespace` is its first component. */
export interface RepositoriesTable { id: string; name: string; namespace: string; created_at: string }

/** Blob links: which blobs a repository may serve. Key (repo_id, digest). */
export interface RepositoryBlobsTable { repo_id: string; digest: Digest; created_at: string }

/** A manifest of a repository. Key (repo_id, digest); `annotations` is a JSON object or NULL. */
export interface ManifestsTable {
  repo_id: string;
  digest: Digest;
  media_type: string;
  size: number;
  artifact_type: string | null;
  subject: Digest | null;
  annotations: string | null;
  created_at: string;
}

/** Blobs (config and layers) a manifest references, kept for garbage collection. */
export interface ManifestBlobsTable { repo_id: string; manifest_digest: Digest; blob_digest: Digest }

/** Child manifests an index references, kept for garbage collection. */
export interface ManifestChildrenTable { repo_id: string; manifest_digest: Digest; child_digest: Digest }

/** A tag; key (repo_id, name); (repo_id, digest) references an existing manifest. */
export interface TagsTable { repo_id: string; name: string; digest: Digest; updated_at: string }

/** Server-wide key/value settings (generated keys, instance id...). */
export interface SettingsTable { key: string; value: string }
