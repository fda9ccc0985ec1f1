import type { Digest } from '../core/digest.ts';
import type { Account, Application, Build, BuildPatch, Service } from '../metadata/types.ts';
import type { EventKind } from '../events/bus.ts';
import type { GitSource } from './types.ts';

/** Everything a worker needs to know about a claimed build besides the build row. */
export interface BuildContext {
  service: Service; app: Application; account: Account;
  /** The service's git source, secrets decrypted (never log it). */
  source: GitSource;
  /** Registry password of this build: pull its account's and the base namespaces, push its one repository. */
  jobToken: string;
}

/** Timeline events a worker records about its build. */
export type BuildEventKind = Extract<EventKind, 'build.started' | 'build.phase' | 'build.succeeded' | 'build.failed' | 'build.cancelled'>;

/**
 * Where a worker's pipeline reads and writes: the metadata queue, the log store, the event timeline, the job-token
 * issuer. Local (in-process: the stores themselves) and remote (`buildgrid worker`: HTTP to /api/v1/worker/*).
 * Every method about a build except claim acts only while `workerId` owns it.
 */
export interface BuildBackend {
  /** Atomically takes the oldest queued build for `workerId`, or null when none is queued. */
  claim(workerId: string): Promise<Build | null>;
  /** Proves the worker is alive; `owned` false when the build was reclaimed or finished elsewhere. */
  heartbeat(build: Build, workerId: string): Promise<{ owned: boolean; cancelRequested: boolean }>;
  /** Applies `patch` (then records `event` about the updated build). Null when the worker no longer owns the build. */
  update(build: Build, patch: BuildPatch, workerId: string, event?: BuildEventKind): Promise<Build | null>;
  /**
   * Stores log lines (numbered by the store) and fans them out to live followers. `batch` names the call so that a
   * retry of it is stored once (LogStore.append).
   */
  appendLog(build: Build, workerId: string, lines: Array<{ text: string; phase?: string }>, opts?: { batch?: string }): Promise<void>;
  /** Records a timeline event about `build` (its current view is the payload). */
  recordEvent(build: Build, workerId: string, kind: BuildEventKind): Promise<void>;
  /** Service, application, account, git source and a job token valid `ttlSeconds`; null when the service is gone. */
  context(build: Build, workerId: string, ttlSeconds: number): Promise<BuildContext | null>;
  /** Facts about the image the build pushed. Throws MANIFEST_UNKNOWN when the push did not land. */
  describeImage(build: Build, workerId: string, digest: Digest): Promise<{ imageId: Digest; size: number; layers: number }>;
  /** Called once the build is final (concludes its deployment). */
  onFinished(build: Build): Promise<void>;
}
