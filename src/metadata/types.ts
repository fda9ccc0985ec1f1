import type { Digest } from '../core/digest.ts';
import type { ApplicationsRepo, BuildsRepo, DeploymentsRepo, EventsRepo, ServicesRepo } from './builds-types.ts';
import type { AppHooksRepo, NotificationsRepo, PollsRepo } from './hooks-types.ts';
import type { LifecycleRepos } from './lifecycle-types.ts';
import type { WorkerTokensRepo } from './workers-types.ts';

export * from './builds-types.ts';
export * from './hooks-types.ts';
export * from './lifecycle-types.ts';
export * from './workers-types.ts';

/**
 * Small repository interfaces per aggregate. Implementations: sqlite/ (embedded default) and, later, postgres/.
 * All methods are async so both backends share callers. Unless stated, "not found" is `null`, never a throw.
 * Timestamps are ISO-8601 strings (UTC). Ids are opaque strings.
 */

export type Role = 'owner' | 'developer' | 'viewer';
export const ROLES: readonly Role[] = ['owner', 'developer', 'viewer'];

export interface Account { id: string; name: string; namespace: string; createdAt: string }
export interface User { id: string; email: string; isAdmin: boolean; registryUsername: string; createdAt: string }
/** A user row with its secrets' hashes (for authentication only). */
export interface UserSecrets extends User {
  passwordHash: string;
  /** SHA-256 of the registry password, used to verify it. */
  registrySecretHash: string;
  /** The registry password encrypted with the server's secret key (AES-256-GCM), so its owner can reveal it. */
  registrySecretEnc: string;
}
export interface Membership { accountId: string; userId: string; role: Role }
export interface ApiToken { id: string; userId: string; name: string; createdAt: string; expiresAt: string | null }
export interface PullToken {
  id: string; accountId: string; name: string; username: string;
  /** Repository names (full `ns/repo`) it is limited to; null = every repository of the account. */
  repositories: string[] | null;
  createdAt: string; expiresAt: string | null; revokedAt: string | null;
}
export interface PullTokenSecrets extends PullToken { secretHash: string }
export interface Repository { id: string; name: string; namespace: string; createdAt: string }
export interface ManifestRecord {
  repositoryId: string; digest: Digest; mediaType: string; size: number;
  artifactType: string | null; subject: Digest | null;
  annotations: Record<string, string> | null; createdAt: string;
}

export interface AccountsRepo {
  /** Creates an account. Throws AppError CONFLICT when the namespace is taken. */
  create(input: { name: string; namespace: string }): Promise<Account>;
  get(id: string): Promise<Account | null>;
  getByNamespace(namespace: string): Promise<Account | null>;
  list(): Promise<Account[]>;
}

export interface UsersRepo {
  /** Creates a user. Throws AppError CONFLICT when the email or registry username is taken. */
  create(input: { email: string; passwordHash: string; isAdmin: boolean; registryUsername: string; registrySecretHash: string; registrySecretEnc: string }): Promise<User>;
  get(id: string): Promise<User | null>;
  getByEmail(email: string): Promise<UserSecrets | null>;
  getByRegistryUsername(username: string): Promise<UserSecrets | null>;
  list(): Promise<User[]>;
  setPasswordHash(userId: string, hash: string): Promise<void>;
  /** Replaces the registry secret hash (rotation): the old secret stops working at once. */
  setRegistrySecret(userId: string, secret: { hash: string; enc: string }): Promise<void>;
}

export interface MembershipsRepo {
  /** Adds or updates (upsert) a membership. */
  set(m: Membership): Promise<void>;
  remove(accountId: string, userId: string): Promise<void>;
  get(accountId: string, userId: string): Promise<Membership | null>;
  listForUser(userId: string): Promise<(Membership & { namespace: string; accountName: string })[]>;
  listForAccount(accountId: string): Promise<(Membership & { email: string })[]>;
}

export interface ApiTokensRepo {
  create(input: { userId: string; name: string; tokenHash: string; expiresAt: string | null }): Promise<ApiToken>;
  /** The live (unexpired) token with this hash, or null. */
  findByHash(tokenHash: string): Promise<ApiToken | null>;
  /** The live (not revoked, unexpired) token with this id, or null. */
  findLive(id: string): Promise<ApiToken | null>;
  revoke(id: string): Promise<void>;
}

export interface PullTokensRepo {
  /** Throws AppError CONFLICT when the username is taken. */
  create(input: { accountId: string; name: string; username: string; secretHash: string; repositories: string[] | null; expiresAt: string | null }): Promise<PullToken>;
  getByUsername(username: string): Promise<PullTokenSecrets | null>;
  get(id: string): Promise<PullToken | null>;
  list(accountId: string): Promise<PullToken[]>;
  /** Marks a token revoked (it stays listed with revokedAt set). */
  revoke(id: string): Promise<void>;
}

export interface RepositoriesRepo {
  /** Returns the repository, creating it when missing. */
  ensure(name: string): Promise<Repository>;
  get(name: string): Promise<Repository | null>;
  /**
   * Repository names in lexical order, after `last` (exclusive), at most `limit`. `namespaces` limits the result
   * to repositories in those namespaces; null means all.
   */
  list(opts: { last?: string; limit: number; namespaces: string[] | null }): Promise<string[]>;
  /** Records that `digest` is a blob of the repository (after upload, mount or import). */
  linkBlob(repositoryId: string, digest: Digest): Promise<void>;
  hasBlob(repositoryId: string, digest: Digest): Promise<boolean>;
  unlinkBlob(repositoryId: string, digest: Digest): Promise<void>;
}

export interface ManifestsRepo {
  /** Stores a manifest record and its references (idempotent). */
  put(m: Omit<ManifestRecord, 'createdAt'> & { blobs: Digest[]; children: Digest[] }): Promise<void>;
  get(repositoryId: string, digest: Digest): Promise<ManifestRecord | null>;
  /** Deletes the manifest and every tag pointing at it. */
  delete(repositoryId: string, digest: Digest): Promise<void>;
  /** Manifests of the repository whose subject is `subject`, optionally filtered by artifactType. */
  referrers(repositoryId: string, subject: Digest, artifactType?: string): Promise<ManifestRecord[]>;
}

export interface TagsRepo {
  set(repositoryId: string, tag: string, digest: Digest): Promise<void>;
  get(repositoryId: string, tag: string): Promise<Digest | null>;
  /** Tags in lexical order after `last` (exclusive), at most `limit`. */
  list(repositoryId: string, opts: { last?: string; limit: number }): Promise<string[]>;
  delete(repositoryId: string, tag: string): Promise<void>;
}

export interface SettingsRepo {
  get(key: string): Promise<string | null>;
  /** Sets the value only when the key is absent; resolves to the stored value (so concurrent first starts agree). */
  setIfAbsent(key: string, value: string): Promise<string>;
  /** Removes the key (nothing happens when it is absent). */
  delete(key: string): Promise<void>;
}

/** The whole metadata store. */
export interface Metadata {
  readonly applications: ApplicationsRepo;
  readonly services: ServicesRepo;
  readonly builds: BuildsRepo;
  readonly deployments: DeploymentsRepo;
  readonly events: EventsRepo;
  readonly hooks: AppHooksRepo;
  readonly polls: PollsRepo;
  readonly notifications: NotificationsRepo;
  /** Retention policies, the image trash, pulls, the garbage collector's view, lifecycle runs. */
  readonly lifecycle: LifecycleRepos;
  /** Credentials of remote build workers. */
  readonly workerTokens: WorkerTokensRepo;
  readonly accounts: AccountsRepo;
  readonly users: UsersRepo;
  readonly memberships: MembershipsRepo;
  readonly apiTokens: ApiTokensRepo;
  readonly pullTokens: PullTokensRepo;
  readonly repositories: RepositoriesRepo;
  readonly manifests: ManifestsRepo;
  readonly tags: TagsRepo;
  readonly settings: SettingsRepo;
  /** Health probe: resolves when the store answers a trivial query. */
  ping(): Promise<void>;
  /**
   * Optional wake-up for queue workers (PostgreSQL: LISTEN/NOTIFY, so a build queued on any node wakes idle workers
   * on every node at once; absent on SQLite, where the queuing process kicks its own workers). Calls `cb` after a
   * build is queued (created, or requeued by reclaimStale) and after a lost notification connection is back.
   * Returns the unsubscribe function. A hint only: workers must still poll.
   */
  onBuildQueued?(cb: () => void): () => void;
  close(): Promise<void>;
}
