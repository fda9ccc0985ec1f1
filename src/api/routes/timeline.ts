import { z } from 'zod';
import { AppParams, ImageRow, TimelineEntry, type TimelineEntryT } from '../schemas.ts';
import { requireUser, type ApiDeps, type TypedApi } from '../context.ts';
import { appFor } from '../access.ts';
import type { Build, Deployment, Service, TrashEntry } from '../../metadata/types.ts';
import { resumeFrom, startSse } from '../sse.ts';

const ms = (a: string | null, b: string | null) => (a && b ? Date.parse(b) - Date.parse(a) : null);

function buildEntry(b: Build, service: Service | undefined, host: string, removed?: TrashEntry): TimelineEntryT {
  const image = b.status === 'succeeded' && b.commit ? `${host}/${b.repository}:${b.commit}` : null;
  return {
    ...(removed ? {
      imageRemoved: {
        reason: removed.reason, removedAt: removed.removedAt, restorableUntil: removed.state === 'removed' ? removed.expiresAt : null, trashId: removed.id, image,
      },
    } : {}),
    kind: 'build', id: b.id, status: b.status, title: `Build ${service?.name ?? '(deleted service)'}`,
    branch: b.branch, commit: b.commit, shortCommit: b.commit?.slice(0, 7) ?? null,
    commitMessage: b.commitMessage?.split('\n')[0] ?? null, commitAuthor: b.commitAuthor,
    trigger: b.trigger, triggeredBy: b.triggeredBy, startedAt: b.startedAt ?? b.createdAt, finishedAt: b.finishedAt,
    durationMs: ms(b.startedAt, b.finishedAt),
    image: removed ? null : image, imageId: b.imageId,
    logUrl: `/api/v1/builds/${b.id}/log`, error: b.error, baseImages: b.baseImages,
  };
}

/** Timeline (newest first), images, and the live event stream of an application. */
export function registerTimelineRoutes(app: TypedApi, deps: ApiDeps): void {
  const { metadata } = deps;

  app.get('/accounts/:namespace/apps/:app/timeline', { config: { access: { account: 'viewer' } },
    schema: { params: AppParams, querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) }), response: { 200: z.array(TimelineEntry) } },
  }, async (req) => {
    const { app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'viewer');
    const services = new Map((await metadata.services.list(a.id)).map((s) => [s.id, s]));
    const builds = await metadata.builds.list({ applicationId: a.id, limit: req.query.limit });
    const deployments = await metadata.deployments.list(a.id, { limit: req.query.limit });
    const byId = new Map(builds.map((b) => [b.id, b]));
    const removed = await metadata.lifecycle.trash.removedImages(builds.map((b) => b.id));
    // Newest first by queue time; a deployment sorts just above the builds it started.
    const depTime = new Map(deployments.map((d) => [d.id, d.createdAt]));
    const keyed: Array<{ at: string; rank: number; e: TimelineEntryT }> = builds.map((b) => ({
      at: (b.deploymentId && depTime.get(b.deploymentId)) || b.createdAt, rank: 1, e: buildEntry(b, services.get(b.serviceId), deps.registryHost, removed.get(b.id)),
    }));
    for (const d of deployments) keyed.push({ at: d.createdAt, rank: 0, e: await deploymentEntry(d, byId) });
    keyed.sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : x.rank - y.rank));
    return keyed.slice(0, req.query.limit).map((k) => k.e);
  });

  async function deploymentEntry(d: Deployment, known: Map<string, Build>): Promise<TimelineEntryT> {
    const items = await Promise.all(d.items.map(async (i) => ({ i, b: known.get(i.buildId) ?? (await metadata.builds.get(i.buildId)) })));
    const first = items[0]?.b;
    return {
      kind: 'deployment', id: d.id, status: d.status,
      title: d.status === 'succeeded' ? 'Application Deployed' : d.status === 'failed' ? 'Deployment failed' : 'Deploying',
      branch: d.branch ?? items[0]?.i.branch ?? null, commit: first?.commit ?? null, shortCommit: first?.commit?.slice(0, 7) ?? null,
      commitMessage: first?.commitMessage?.split('\n')[0] ?? null, commitAuthor: first?.commitAuthor ?? null,
      trigger: d.trigger, triggeredBy: d.triggeredBy, startedAt: d.createdAt, finishedAt: d.finishedAt, durationMs: ms(d.createdAt, d.finishedAt),
      image: null, imageId: null, logUrl: null, error: d.error,
      services: items.map(({ i, b }) => ({
        service: i.serviceName, branch: i.branch, commit: b?.commit ?? i.commit, status: b?.status ?? 'unknown', buildId: i.buildId,
        image: b?.status === 'succeeded' && b.commit ? `${deps.registryHost}/${b.repository}:${b.commit}` : null,
      })),
    };
  }

  app.get('/accounts/:namespace/apps/:app/images', { config: { access: { account: 'viewer' } }, schema: { params: AppParams, response: { 200: z.array(ImageRow) } } }, async (req) => {
    const { app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'viewer');
    const services = new Map((await metadata.services.list(a.id)).map((s) => [s.id, s]));
    const builds = await metadata.builds.list({ applicationId: a.id, limit: 1000 });
    const removed = await metadata.lifecycle.trash.removedImages(builds.map((b) => b.id)); // not pullable: not listed
    const seen = new Set<string>();
    const rows = [];
    for (const b of builds) {
      if (b.status !== 'succeeded' || !b.commit || seen.has(`${b.repository}:${b.commit}`) || removed.has(b.id)) continue;
      seen.add(`${b.repository}:${b.commit}`);
      rows.push({
        service: services.get(b.serviceId)?.name ?? '(deleted)', repository: b.repository, image: `${deps.registryHost}/${b.repository}:${b.commit}`,
        commit: b.commit, branch: b.branch, digest: b.imageDigest, imageId: b.imageId, size: b.imageSize, layers: b.layerCount, builtAt: b.finishedAt,
      });
    }
    return rows;
  });

  // Live timeline: stored events after Last-Event-ID (a sequence number), then new ones.
  app.get('/accounts/:namespace/apps/:app/events', { config: { access: { account: 'viewer' } }, schema: { params: AppParams, hide: true } }, async (req, reply) => {
    const { app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'viewer');
    let sent = resumeFrom(req);
    const pending: Array<{ seq?: number; kind: string; payload: unknown }> = [];
    let live = false;
    const stream = startSse(req, reply);
    const send = (e: { seq?: number; kind: string; payload: unknown }) => {
      if (e.seq === undefined || e.seq <= sent) return;
      stream.send(e.kind, e.payload, e.seq);
      sent = e.seq;
    };
    const off = deps.events.subscribe((e) => e.applicationId === a.id && e.kind !== 'build.log', (e) => (live ? send(e) : pending.push(e)));
    void stream.closed.then(off);
    for (;;) {
      const batch = await metadata.events.list({ afterSeq: sent, applicationId: a.id, limit: 500 });
      batch.forEach(send);
      if (batch.length < 500) break;
    }
    pending.forEach(send);
    live = true;
  });
}
