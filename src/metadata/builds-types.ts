import type { Digest } from '../core/digest.ts';

/**
 * Contracts for applications, services, builds, deployments and the event log (the builds milestone). Same rules as
 * types.ts: async, null for "not found", AppError CONFLICT on unique violations, ISO-8601 UTC timestamps.
 */

export interface Application {
  id: string; accountId: string;
  /** Display name as given. */
  name: string;
  /** OCI-safe component used in image names (`<namespace>/<slug>.<repo>`); unique per account. */
  slug: string;
  /** Build-time variables: fill Dockerfile ARGs of every service. */
  env: Record<string, string>;
  createdAt: string;
}

/** How a service authenticates to its git host. Secrets are encrypted by the caller (auth/secretbox) before storage. */
export type GitAuth =
  | { kind: 'none' }
  | { kind: 'token'; username: string; tokenEnc: string }
  | { kind: 'ssh'; publicKey: string; privateKeyEnc: string };

export interface Service {
  id: string; applicationId: string;
  /** Unique per application. */
  name: string;
  gitUrl: string; branch: string;
  /** Path of the Dockerfile relative to the repository root (default `Dockerfile`). */
  dockerfile: string;
  /** Build root relative to the repository root (default `.`). */
  context: string;
  buildArgs: Record<string, string>;
  /** Full image repository name, `<namespace>/<app>.<repo>`; unique across services. */
  repository: string;
  gitAuth: GitAuth;
  /** Poll the branch every N seconds (repositories that cannot send webhooks); null = off. */
  pollIntervalSeconds: number | null;
  createdAt: string;
}

export type BuildStatus = 'queued' | 'fetching' | 'building' | 'pushing' | 'succeeded' | 'failed' | 'cancelled';
export const RUNNING_STATUSES: readonly BuildStatus[] = ['fetching', 'building', 'pushing'];
export const FINAL_STATUSES: readonly BuildStatus[] = ['succeeded', 'failed', 'cancelled'];
export type Trigger = 'web' | 'api' | 'cli' | 'hook' | 'poll';

/**
 * One base image of a build: a FROM (stage index, as written), the reference it resolved to with Docker's
 * normalisation (docker.io/library/busybox:1; null when it is not a valid reference), and the manifest digest used.
 */
export interface BaseImageRecord { stage: number; written: string; resolved: string | null; digest: string | null }

/** One phase's timing. */
export interface PhaseTiming { name: 'queued' | 'fetching' | 'building' | 'pushing'; startedAt: string; endedAt: string | null }

export interface Build {
  id: string;
  serviceId: string; applicationId: string; accountId: string;
  deploymentId: string | null;
  status: BuildStatus;
  trigger: Trigger;
  /** Email of the person, or the hook's name. */
  triggeredBy: string;
  branch: string;
  /** Resolved 40-character commit hash (null until fetched when the build was queued by branch). */
  commit: string | null;
  commitMessage: string | null;
  commitAuthor: string | null;
  /** Image repository and tag this build produces. */
  repository: string;
  imageDigest: Digest | null;
  /** Config digest. */
  imageId: Digest | null;
  imageSize: number | null;
  layerCount: number | null;
  error: string | null;
  phases: PhaseTiming[];
  /** Every FROM that names an image (builds/base-images.ts); empty until the build has succeeded. */
  baseImages: BaseImageRecord[];
  /** 1 after the first claim; a reclaimed build is retried while attempt < maxAttempts. */
  attempt: number;
  maxAttempts: number;
  workerId: string | null;
  heartbeatAt: string | null;
  cancelRequested: boolean;
  /** Set for an explicit rebuild: build even when the commit already has an image. */
  force: boolean;
  rebuildOf: string | null;
  createdAt: string; startedAt: string | null; finishedAt: string | null;
}

/** Fields a worker or the scheduler may change on a build. */
export type BuildPatch = Partial<Pick<Build,
  'status' | 'commit' | 'commitMessage' | 'commitAuthor' | 'imageDigest' | 'imageId' | 'imageSize' | 'layerCount' |
  'error' | 'phases' | 'startedAt' | 'finishedAt' | 'workerId' | 'heartbeatAt' | 'baseImages'>>;

export type DeploymentStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';
/** One service of a deployment: the build that provides its image (a new one, or an earlier build of the same commit). */
export interface DeploymentItem { serviceId: string; serviceName: string; branch: string; buildId: string; commit: string | null }
export interface Deployment {
  id: string; applicationId: string; accountId: string;
  /** Branch override for every service, or null (each service's own branch). */
  branch: string | null;
  status: DeploymentStatus;
  trigger: Trigger; triggeredBy: string;
  /** The services deployed and their builds (stored as JSON). */
  items: DeploymentItem[];
  error: string | null;
  createdAt: string; finishedAt: string | null;
}

/** One stored timeline event; `seq` increases strictly across the whole store. */
export interface StoredEvent { seq: number; accountId: string; applicationId: string | null; kind: string; payload: unknown; createdAt: string }

export interface ApplicationsRepo {
  /** Throws CONFLICT when the account already has an application with this slug. */
  create(input: { accountId: string; name: string; slug: string; env: Record<string, string> }): Promise<Application>;
  get(id: string): Promise<Application | null>;
  getBySlug(accountId: string, slug: string): Promise<Application | null>;
  list(accountId: string): Promise<Application[]>;
  setEnv(id: string, env: Record<string, string>): Promise<Application>;
}

export interface ServicesRepo {
  /** Throws CONFLICT when the name is taken in the application or the repository by another service. */
  create(input: Omit<Service, 'id' | 'createdAt'>): Promise<Service>;
  get(id: string): Promise<Service | null>;
  list(applicationId: string): Promise<Service[]>;
  update(id: string, patch: Partial<Omit<Service, 'id' | 'applicationId' | 'createdAt'>>): Promise<Service>;
  /** Services with polling on (for the poller). */
  listPolled(): Promise<Service[]>;
  delete(id: string): Promise<void>;
}

export interface BuildsRepo {
  create(input: Pick<Build, 'serviceId' | 'applicationId' | 'accountId' | 'deploymentId' | 'trigger' | 'triggeredBy' | 'branch' | 'commit' | 'repository' | 'force' | 'rebuildOf'> & { maxAttempts?: number }): Promise<Build>;
  get(id: string): Promise<Build | null>;
  /** Newest first; `before` is a build id to page from (exclusive). */
  list(filter: { applicationId?: string; serviceId?: string; deploymentId?: string; limit: number; before?: string }): Promise<Build[]>;
  /**
   * Atomically takes a queued build: status → 'fetching', workerId, heartbeatAt = now, attempt + 1, startedAt (if
   * unset), and a 'fetching' phase appended. Two concurrent claims never get the same build. Without `fair` (or with
   * maxPerAccount null) the oldest queued build; with it, fair queueing (builds-fair.ts): never a build of an account
   * that already runs maxPerAccount builds, and among the others the account with the fewest running builds, then the
   * one whose last claim is oldest (round-robin), then its oldest queued build. Resolves to null when nothing is
   * claimable.
   */
  claim(workerId: string, fair?: { maxPerAccount: number | null }): Promise<Build | null>;
  /** Where a queued build stands in the queue (QueuePlace); null when the build is unknown or not queued. */
  queuePlace(id: string): Promise<QueuePlace | null>;
  /** Refreshes heartbeatAt when `workerId` still owns the running build; resolves to false when it does not. */
  heartbeat(id: string, workerId: string): Promise<{ owned: boolean; cancelRequested: boolean }>;
  /**
   * Applies `patch`. With `workerId`, only while that worker owns the build and it is running (resolves to null
   * otherwise: the build was reclaimed or finished). Without, unconditionally.
   */
  update(id: string, patch: BuildPatch, workerId?: string): Promise<Build | null>;
  /** Marks cancellation requested; a queued build is cancelled at once (resolves to the new state). */
  requestCancel(id: string): Promise<Build | null>;
  /**
   * Running builds whose heartbeat is older than `staleBefore`: requeued (status 'queued', workerId null) when
   * attempt < maxAttempts, else failed with `error`. Resolves to the builds changed, in their new state.
   */
  reclaimStale(staleBefore: string, error: string): Promise<Build[]>;
  /** The newest succeeded build of the service at `commit`, or null. */
  findSucceeded(serviceId: string, commit: string): Promise<Build | null>;
  /** A queued or running build of the service at `commit` (or of its branch with commit unresolved), or null. */
  findActive(serviceId: string, commit: string | null, branch: string): Promise<Build | null>;
}

/** A queued build's place, the facts a wait estimate needs (builds/queue-estimate.ts turns them into one). */
export interface QueuePlace {
  /** Queued builds of the same account created before it (an account's own builds are claimed oldest first). */
  accountAhead: number;
  /** Queued builds of every account created before it (its place in a first come, first served queue). */
  globalAhead: number;
  /** Every account with queued or running builds (the build's own included), with both counts. */
  accounts: Array<{ accountId: string; queued: number; running: number }>;
  /** Claim-to-finish seconds of the service's latest succeeded builds, newest first (at most 10). */
  recentSeconds: number[];
}

export interface DeploymentsRepo {
  create(input: Pick<Deployment, 'applicationId' | 'accountId' | 'branch' | 'trigger' | 'triggeredBy' | 'items'>): Promise<Deployment>;
  /** Replaces the items (e.g. once every service's build is known). */
  setItems(id: string, items: DeploymentItem[]): Promise<void>;
  get(id: string): Promise<Deployment | null>;
  list(applicationId: string, opts: { limit: number; before?: string }): Promise<Deployment[]>;
  /** Sets the final status (only from 'running'); resolves to null when it was already final. */
  finish(id: string, status: Exclude<DeploymentStatus, 'running'>, error: string | null): Promise<Deployment | null>;
  /** Running deployments (for the scheduler to re-check after a restart). */
  listRunning(): Promise<Deployment[]>;
}

export interface EventsRepo {
  append(e: { accountId: string; applicationId: string | null; kind: string; payload: unknown }): Promise<StoredEvent>;
  /** Events with seq > afterSeq in ascending order, optionally for one application or account, at most `limit`. */
  list(filter: { afterSeq: number; applicationId?: string; accountId?: string; limit: number }): Promise<StoredEvent[]>;
  /** Highest seq stored (0 when empty). */
  lastSeq(): Promise<number>;
}
