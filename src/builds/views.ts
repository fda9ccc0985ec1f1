import type { Build, Service } from '../metadata/types.ts';

/** The public shape of a build in events, the API and the CLI (no secrets, image URL spelled out). */
export interface BuildView {
  id: string; serviceId: string; serviceName: string | null; applicationId: string; deploymentId: string | null;
  status: Build['status']; trigger: Build['trigger']; triggeredBy: string; branch: string;
  commit: string | null; shortCommit: string | null; commitMessage: string | null; commitAuthor: string | null;
  image: string | null; imageDigest: string | null; imageId: string | null; imageSize: number | null; layerCount: number | null;
  error: string | null; phases: Build['phases']; attempt: number; rebuildOf: string | null;
  /** Every FROM naming an image: as written, resolved (docker.io/library/…), and the digest used. */
  baseImages: Build['baseImages'];
  createdAt: string; startedAt: string | null; finishedAt: string | null; durationMs: number | null;
}

/** Builds the view of `b` (service may be null when it was deleted). */
export function buildView(b: Build, service: Service | null, registryHost: string): BuildView {
  const end = b.finishedAt ? Date.parse(b.finishedAt) : null;
  const start = b.startedAt ? Date.parse(b.startedAt) : null;
  return {
    id: b.id, serviceId: b.serviceId, serviceName: service?.name ?? null, applicationId: b.applicationId, deploymentId: b.deploymentId,
    status: b.status, trigger: b.trigger, triggeredBy: b.triggeredBy, branch: b.branch,
    commit: b.commit, shortCommit: b.commit ? b.commit.slice(0, 7) : null, commitMessage: b.commitMessage, commitAuthor: b.commitAuthor,
    image: b.commit ? `${registryHost}/${b.repository}:${b.commit}` : null,
    imageDigest: b.imageDigest, imageId: b.imageId, imageSize: b.imageSize, layerCount: b.layerCount,
    error: b.error, phases: b.phases, attempt: b.attempt, rebuildOf: b.rebuildOf, baseImages: b.baseImages,
    createdAt: b.createdAt, startedAt: b.startedAt, finishedAt: b.finishedAt,
    durationMs: end !== null && start !== null ? end - start : null,
  };
}
