import { AppError, isAppError } from '../core/errors.ts';
import type { Account, Application, LifecycleRun, Metadata, RetentionPolicy, TrashEntry } from '../metadata/types.ts';
import type { BlobMaintenance } from '../storage/gc.ts';
import type { BlobReader } from '../storage/types.ts';
import { collectGarbage, recoverTrash, type GcReport } from './gc.ts';
import { fsck, type FsckReport } from './fsck.ts';
import { applyRetention, effectivePolicy, retentionTargets, type EffectivePolicy, type RetentionReport } from './retention.ts';
import { createRunner, type RunResult } from './runner.ts';
import { cachedSizes } from './sizes.ts';
import { storageUsage, type UsageReport } from './usage.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The policy fields a caller sets. */
export type PolicyInput = Pick<RetentionPolicy, 'keepLastPerBranch' | 'keepNewerThanDays' | 'keepPulledWithinDays' | 'graceDays' | 'enabled'>;

/** Who asked, and through what. */
export interface Requester { trigger: string; requestedBy: string }

/** Retention, garbage collection, fsck, usage and their history: what the API, the CLI and the scheduler call. */
export interface Lifecycle {
  /** The application's own policy and the one in force. */
  policy(account: Account, app: Application | null): Promise<{ own: RetentionPolicy | null; effective: EffectivePolicy | null }>;
  /** Sets a policy (app null: the account default). Throws INVALID for a policy that keeps nothing by age or count. */
  setPolicy(account: Account, app: Application | null, input: PolicyInput, by: string): Promise<RetentionPolicy>;
  deletePolicy(account: Account, app: Application | null): Promise<boolean>;
  /**
   * Applies retention to the applications (all of `account`'s, or of every account when null). A dry run changes
   * nothing and records nothing; a real run is recorded in the history. Throws CONFLICT while another run is going.
   */
  retention(scope: { account: Account | null; app?: Application }, opts: Requester & { dryRun: boolean }): Promise<RetentionReport>;
  /** Puts a removed image back. Throws NOT_FOUND, or CONFLICT when it was purged or lost a blob (see fsck). */
  restore(entry: TrashEntry): Promise<TrashEntry>;
  usage(account: Account | null): Promise<UsageReport>;
  /** Starts a collection (after retention unless `retention: false`) in the background. Throws CONFLICT. */
  startGc(opts: Requester & { dryRun: boolean; retention: boolean }): Promise<LifecycleRun>;
  /** Starts fsck in the background. Throws CONFLICT. */
  startFsck(opts: Requester & { repair: boolean }): Promise<LifecycleRun>;
  /** The finished run. */
  wait(id: string): Promise<LifecycleRun>;
  /** At server start, before serving: fails runs the previous process left "running" and resolves gc-trash leftovers. */
  recover(): Promise<{ interruptedRuns: number; trash: GcReport['recovered'] }>;
  /** Starts the scheduled pass (retention + collection every intervalMs; 0: never). */
  startSchedule(): void;
  stop(): Promise<void>;
}

export interface LifecycleOptions {
  metadata: Metadata;
  blobs: BlobMaintenance;
  reader: BlobReader;
  /** Expired upload sessions are removed by every collection. */
  sweepUploads?: () => Promise<number>;
  registryHost: string;
  maxManifestBytes: number;
  minBlobAgeMs: number;
  batchSize: number;
  intervalMs: number;
  /** This process is the only one using the store (SQLite): every "running" run at start is a dead one. */
  exclusiveStore: boolean;
  /** Writes buffered pull records (registry/pulls.ts). */
  flushPulls?: () => Promise<void>;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** Validates policy fields; throws AppError INVALID saying what to change. */
export function validatePolicy(p: PolicyInput): void {
  if (p.keepLastPerBranch !== null && (!Number.isInteger(p.keepLastPerBranch) || p.keepLastPerBranch < 1)) {
    throw new AppError('INVALID', 'keepLastPerBranch must be a whole number of at least 1 (or null)');
  }
  if (p.keepNewerThanDays !== null && !(p.keepNewerThanDays > 0)) throw new AppError('INVALID', 'keepNewerThanDays must be more than 0 (or null)');
  if (p.keepLastPerBranch === null && p.keepNewerThanDays === null) {
    throw new AppError('INVALID', 'set keepLastPerBranch or keepNewerThanDays (or both): a policy with neither would remove every image that is not deployed or recently pulled');
  }
  if (!(p.keepPulledWithinDays >= 0)) throw new AppError('INVALID', 'keepPulledWithinDays must be 0 or more');
  if (!(p.graceDays >= 0)) throw new AppError('INVALID', 'graceDays must be 0 or more');
}

export function createLifecycle(o: LifecycleOptions): Lifecycle {
  const md = o.metadata;
  const sizes = cachedSizes(async (d) => (await o.blobs.stat(d))?.size ?? null);
  const runner = createRunner({ metadata: md, onError: (err, run) => o.log?.error({ err, run: run.id }, `lifecycle ${run.kind} run failed`) });
  const retentionDeps = { metadata: md, sizes, registryHost: o.registryHost, flushPulls: o.flushPulls };
  const gcDeps = { metadata: md, blobs: o.blobs, sweepUploads: o.sweepUploads };
  let timer: NodeJS.Timeout | null = null;

  const targetsOf = async (scope: { account: Account | null; app?: Application }) =>
    scope.app && scope.account ? [{ account: scope.account, app: scope.app }] : retentionTargets(md, scope.account?.id);

  const self: Lifecycle = {
    async policy(account, app) {
      const own = await md.lifecycle.policies.get(account.id, app?.id ?? null);
      const effective = app ? await effectivePolicy(md, account.id, app.id) : own ? { ...own, source: 'account' as const } : null;
      return { own, effective };
    },
    async setPolicy(account, app, input, by) {
      validatePolicy(input);
      return md.lifecycle.policies.set({ accountId: account.id, applicationId: app?.id ?? null, ...input, updatedBy: by });
    },
    deletePolicy: (account, app) => md.lifecycle.policies.delete(account.id, app?.id ?? null),

    async retention(scope, opts) {
      const targets = await targetsOf(scope);
      if (opts.dryRun) return applyRetention(retentionDeps, targets, { dryRun: true, removedBy: opts.requestedBy });
      const { result } = await runner.run(
        { kind: 'retention', trigger: opts.trigger, requestedBy: opts.requestedBy, dryRun: false,
          options: { account: scope.account?.namespace ?? null, application: scope.app?.slug ?? null } },
        async () => {
          const report = await applyRetention(retentionDeps, targets, { dryRun: false, removedBy: opts.requestedBy });
          return { summary: { retention: report.totals }, report: { retention: report } };
        });
      return (result.report as { retention: RetentionReport }).retention;
    },

    async restore(entry) {
      for (const m of entry.manifests) {
        for (const d of [m.digest, ...m.blobs]) {
          if ((await o.blobs.stat(d)) === null) {
            throw new AppError('CONFLICT', `cannot restore ${entry.repository}@${entry.digest}: blob ${d} is gone (see buildgrid fsck); rebuild the image instead`);
          }
        }
      }
      return md.lifecycle.trash.restore(entry.id);
    },

    usage: (account) => storageUsage({ metadata: md, sizes, blobs: o.blobs }, { account: account ?? undefined }),

    async startGc(opts) {
      return runner.start(
        { kind: 'gc', trigger: opts.trigger, requestedBy: opts.requestedBy, dryRun: opts.dryRun, options: { retention: opts.retention } },
        async ({ run, signal, progress }): Promise<RunResult> => {
          let retention: RetentionReport | null = null;
          let assumeRemoved: Set<string> | undefined;
          if (opts.retention) {
            await progress('retention');
            retention = await applyRetention(retentionDeps, await retentionTargets(md), { dryRun: opts.dryRun, removedBy: opts.requestedBy });
            if (opts.dryRun) {
              // What the real run would remove without a grace window is collected in the same run: simulate it.
              assumeRemoved = new Set();
              for (const a of retention.applications) {
                if (a.policy?.graceDays !== 0) continue;
                for (const d of a.decisions) {
                  if (d.status !== 'would-remove') continue;
                  for (const m of [d.digest, ...d.cascade]) assumeRemoved.add(`${d.repositoryId} ${m}`);
                }
              }
            }
          }
          const gc = await collectGarbage(gcDeps, {
            dryRun: opts.dryRun, minBlobAgeMs: o.minBlobAgeMs, batchSize: o.batchSize, runId: run.id, assumeRemoved, signal, onProgress: progress,
          });
          o.log?.info({ run: run.id, dryRun: opts.dryRun, blobsDeleted: gc.blobs.deleted, bytesFreed: gc.blobs.bytesFreed }, 'garbage collection finished');
          return {
            summary: {
              ...(retention ? { retention: retention.totals } : {}),
              gc: {
                blobsDeleted: gc.blobs.deleted, bytesFreed: gc.blobs.bytesFreed, linksDeleted: gc.links.deleted, trashPurged: gc.trashPurged,
                bytesBefore: gc.blobs.bytesBefore, bytesAfter: gc.blobs.bytesAfter, recovered: gc.recovered,
              },
            },
            report: { retention, gc },
          };
        });
    },

    async startFsck(opts) {
      return runner.start(
        { kind: 'fsck', trigger: opts.trigger, requestedBy: opts.requestedBy, dryRun: !opts.repair, options: { repair: opts.repair } },
        async ({ signal, progress }): Promise<RunResult> => {
          const report: FsckReport = await fsck({ metadata: md, blobs: o.blobs, reader: o.reader, maxManifestBytes: o.maxManifestBytes },
            { repair: opts.repair, graceMs: 7 * DAY_MS, minBlobAgeMs: o.minBlobAgeMs, signal, onProgress: progress });
          return { summary: { healthy: report.healthy, exitCode: report.exitCode, problems: report.problems.length, checked: report.checked }, report: { fsck: report } };
        });
    },

    wait: (id) => runner.wait(id),

    async recover() {
      const interruptedRuns = o.exclusiveStore ? await md.lifecycle.runs.interrupt(new Date(Date.now() + 1000).toISOString()) : 0;
      const trash = await recoverTrash(gcDeps, o.minBlobAgeMs);
      if (interruptedRuns > 0 || trash.batches > 0) o.log?.warn({ interruptedRuns, trash }, 'recovered from an interrupted lifecycle run');
      return { interruptedRuns, trash };
    },

    startSchedule() {
      if (o.intervalMs <= 0 || timer) return;
      timer = setInterval(() => {
        self.startGc({ trigger: 'schedule', requestedBy: 'schedule', dryRun: false, retention: true }).catch((err: unknown) => {
          if (isAppError(err, 'CONFLICT')) o.log?.info({ err }, 'scheduled lifecycle pass skipped: another run is in progress');
          else o.log?.error({ err }, 'scheduled lifecycle pass could not start');
        });
      }, o.intervalMs);
      timer.unref();
    },

    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await runner.stop();
    },
  };
  return self;
}
