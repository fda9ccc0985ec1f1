import type { Selectable, Updateable } from 'kysely';
import type { Digest } from '../core/digest.ts';
import { fromJson, toJson, toStoredTime } from './codec.ts';
import type { BuildsTable } from './schema.ts';
import type { BaseImageRecord, Build, BuildPatch, BuildStatus, PhaseTiming, Trigger } from './types.ts';
import { RUNNING_STATUSES } from './types.ts';

/** The running statuses as a mutable list, for `where('status', 'in', …)`. */
export const RUNNING: BuildStatus[] = [...RUNNING_STATUSES];
/** Statuses of a build that still needs or has a worker: queued or running. */
export const ACTIVE: BuildStatus[] = ['queued', ...RUNNING_STATUSES];

/** Closes every open phase (endedAt null) at `at`; a build has at most one open phase. */
export function closePhases(phases: PhaseTiming[], at: string): PhaseTiming[] {
  return phases.map((p) => (p.endedAt === null ? { ...p, endedAt: at } : p));
}

/** Closes the open phase and opens phase `name` at `at`. */
export function openPhase(phases: PhaseTiming[], name: PhaseTiming['name'], at: string): PhaseTiming[] {
  return [...closePhases(phases, at), { name, startedAt: at, endedAt: null }];
}

/** Reads a row's phases (an empty list if the column somehow holds JSON null). */
export function phasesOf(r: Pick<Selectable<BuildsTable>, 'phases'>): PhaseTiming[] {
  return fromJson<PhaseTiming[]>(r.phases) ?? [];
}

/**
 * The columns a BuildPatch changes (absent fields are left alone). Timestamps are normalised to the stored form, so
 * `heartbeat_at < :staleBefore` compares correctly as text; throws AppError INVALID for an unparsable one.
 */
export function patchColumns(p: BuildPatch): Updateable<BuildsTable> {
  const out: Updateable<BuildsTable> = {};
  if (p.status !== undefined) out.status = p.status;
  if (p.commit !== undefined) out.commit = p.commit;
  if (p.commitMessage !== undefined) out.commit_message = p.commitMessage;
  if (p.commitAuthor !== undefined) out.commit_author = p.commitAuthor;
  if (p.imageDigest !== undefined) out.image_digest = p.imageDigest;
  if (p.imageId !== undefined) out.image_id = p.imageId;
  if (p.imageSize !== undefined) out.image_size = p.imageSize;
  if (p.layerCount !== undefined) out.layer_count = p.layerCount;
  if (p.error !== undefined) out.error = p.error;
  if (p.phases !== undefined) out.phases = toJson(p.phases) ?? '[]';
  if (p.baseImages !== undefined) out.base_images = toJson(p.baseImages);
  if (p.startedAt !== undefined) out.started_at = toStoredTime(p.startedAt, 'startedAt');
  if (p.finishedAt !== undefined) out.finished_at = toStoredTime(p.finishedAt, 'finishedAt');
  if (p.workerId !== undefined) out.worker_id = p.workerId;
  if (p.heartbeatAt !== undefined) out.heartbeat_at = toStoredTime(p.heartbeatAt, 'heartbeatAt');
  return out;
}

/** Maps a builds row to the domain type (numbers via Number(): PostgreSQL returns bigint as a string). */
export function toBuild(r: Selectable<BuildsTable>): Build {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: r.id,
    serviceId: r.service_id,
    applicationId: r.application_id,
    accountId: r.account_id,
    deploymentId: r.deployment_id,
    status: r.status as BuildStatus,
    trigger: r.trigger as Trigger,
    triggeredBy: r.triggered_by,
    branch: r.branch,
    commit: r.commit,
    commitMessage: r.commit_message,
    commitAuthor: r.commit_author,
    repository: r.repository,
    imageDigest: r.image_digest as Digest | null,
    imageId: r.image_id as Digest | null,
    imageSize: num(r.image_size),
    layerCount: num(r.layer_count),
    error: r.error,
    phases: phasesOf(r),
    baseImages: fromJson<BaseImageRecord[]>(r.base_images) ?? [],
    attempt: Number(r.attempt),
    maxAttempts: Number(r.max_attempts),
    workerId: r.worker_id,
    heartbeatAt: r.heartbeat_at,
    cancelRequested: Number(r.cancel_requested) === 1,
    force: Number(r.force) === 1,
    rebuildOf: r.rebuild_of,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}
