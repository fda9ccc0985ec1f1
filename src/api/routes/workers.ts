import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../../core/errors.ts';
import type { Digest } from '../../core/digest.ts';
import type { Build } from '../../metadata/types.ts';
import type { WorkerPrincipal } from '../../auth/index.ts';
import type { BuildBackend } from '../../builds/backend.ts';
import { requireUser, type ApiDeps, type TypedApi, type WorkerApiDeps } from '../context.ts';
import { requireAdmin } from '../access.ts';

/** The calling worker, or AppError UNAUTHORIZED (user tokens and anonymous callers alike). */
export function requireWorker(req: FastifyRequest): WorkerPrincipal {
  if (!req.worker) throw new AppError('UNAUTHORIZED', 'this endpoint is for build workers: send Authorization: Bearer <worker token> (`buildgrid workers tokens create`)');
  return req.worker;
}

const Slot = z.string().regex(/^[A-Za-z0-9._/-]{1,120}$/);
const Phase = z.object({ name: z.enum(['queued', 'fetching', 'building', 'pushing']), startedAt: z.string(), endedAt: z.string().nullable() });
const Patch = z.object({
  status: z.enum(['fetching', 'building', 'pushing', 'succeeded', 'failed', 'cancelled']).optional(),
  commit: z.string().regex(/^[0-9a-f]{40,64}$/).optional(), commitMessage: z.string().max(100_000).optional(), commitAuthor: z.string().max(1000).optional(),
  imageDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(), imageId: z.string().regex(/^sha256:[0-9a-f]{64}$/).optional(),
  imageSize: z.number().int().min(0).optional(), layerCount: z.number().int().min(0).optional(),
  error: z.string().max(10_000).nullable().optional(), phases: z.array(Phase).max(10).optional(), finishedAt: z.string().optional(),
  baseImages: z.array(z.object({
    stage: z.number().int().min(0).max(1000), written: z.string().max(1024), resolved: z.string().max(1024).nullable(), digest: z.string().regex(/^sha(256|512):[0-9a-f]{64,128}$/).nullable(),
  }).strict()).max(64).optional(),
}).strict();
const EventKind = z.enum(['build.started', 'build.phase', 'build.succeeded', 'build.failed', 'build.cancelled']);
const Id = z.object({ id: z.string().min(1).max(64) });
const hide = { hide: true } as const;

/**
 * /worker/*: what `buildgrid worker` calls. A worker names its slot (`host/slot`); the server prefixes it with the
 * token's id, so a worker can never act as another token's worker, and every call about a build is refused unless
 * that worker claimed it (heartbeat and update check ownership in the queue itself, atomically).
 */
export function registerWorkerRoutes(app: TypedApi, api: Pick<ApiDeps, 'metadata'>, deps: WorkerApiDeps): void {
  const { backend } = deps;
  const workerIdOf = (w: WorkerPrincipal, slot: string) => `w:${w.tokenId}:${slot}`;
  /** The build `id` when `workerId` holds it; NOT_FOUND otherwise (whether it exists is none of another worker's business). */
  const owned = async (id: string, workerId: string): Promise<Build> => {
    const b = await api.metadata.builds.get(id);
    if (!b || b.workerId !== workerId) throw new AppError('NOT_FOUND', `build ${id} is not claimed by this worker`);
    return b;
  };

  app.get('/worker/config', { config: { access: 'worker' }, schema: hide }, async (req) => {
    requireWorker(req);
    return deps.settings;
  });
  app.post('/worker/claim', { config: { access: 'worker' }, schema: { ...hide, body: z.object({ worker: Slot }) } }, async (req) => {
    return { build: await backend.claim(workerIdOf(requireWorker(req), req.body.worker)) };
  });
  app.post('/worker/builds/:id/heartbeat', { config: { access: 'worker' }, schema: { ...hide, params: Id, body: z.object({ worker: Slot }) } }, async (req) => {
    const wid = workerIdOf(requireWorker(req), req.body.worker);
    return backend.heartbeat({ id: req.params.id } as Build, wid);
  });
  app.post('/worker/builds/:id/update', { config: { access: 'worker' }, schema: { ...hide, params: Id, body: z.object({ worker: Slot, patch: Patch, event: EventKind.optional() }) } }, async (req) => {
    const wid = workerIdOf(requireWorker(req), req.body.worker);
    const b = await owned(req.params.id, wid);
    const next = await backend.update(b, req.body.patch as Parameters<BuildBackend['update']>[1], wid, req.body.event);
    if (next && ['succeeded', 'failed', 'cancelled'].includes(next.status)) await backend.onFinished(next);
    return { build: next };
  });
  app.post('/worker/builds/:id/log', { config: { access: 'worker' },
    schema: { ...hide, params: Id, body: z.object({
      worker: Slot, lines: z.array(z.object({ text: z.string().max(100_000), phase: z.string().max(40).optional() })).max(5000),
      batch: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/).optional().describe('names this append: the same batch sent again is stored once'),
    }) },
    bodyLimit: 8 * 1024 * 1024,
  }, async (req) => {
    const wid = workerIdOf(requireWorker(req), req.body.worker);
    await backend.appendLog(await owned(req.params.id, wid), wid, req.body.lines, { batch: req.body.batch });
    return { ok: true };
  });
  app.post('/worker/builds/:id/events', { config: { access: 'worker' }, schema: { ...hide, params: Id, body: z.object({ worker: Slot, kind: EventKind }) } }, async (req) => {
    const wid = workerIdOf(requireWorker(req), req.body.worker);
    await backend.recordEvent(await owned(req.params.id, wid), wid, req.body.kind);
    return { ok: true };
  });
  app.post('/worker/builds/:id/context', { config: { access: 'worker' }, schema: { ...hide, params: Id, body: z.object({ worker: Slot }) } }, async (req) => {
    const wid = workerIdOf(requireWorker(req), req.body.worker);
    const ttl = Math.ceil(deps.settings.buildTimeoutMs / 1000) + 600;
    return { context: await backend.context(await owned(req.params.id, wid), wid, ttl) };
  });
  app.post('/worker/builds/:id/image', { config: { access: 'worker' }, schema: { ...hide, params: Id, body: z.object({ worker: Slot, digest: z.string().regex(/^sha256:[0-9a-f]{64}$/) }) } }, async (req) => {
    const wid = workerIdOf(requireWorker(req), req.body.worker);
    return backend.describeImage(await owned(req.params.id, wid), wid, req.body.digest as Digest);
  });

  // Administration of worker tokens (people with the administrator flag only).
  app.get('/admin/worker-tokens', { config: { access: 'admin' }, schema: hide }, async (req) => {
    requireAdmin(requireUser(req));
    return deps.tokens.list();
  });
  app.post('/admin/worker-tokens', { config: { access: 'admin' }, schema: { ...hide, body: z.object({ name: z.string().min(1).max(100) }) } }, async (req, reply) => {
    const user = requireUser(req);
    requireAdmin(user);
    return reply.status(201).send(await deps.tokens.create(req.body.name, user.email));
  });
  app.delete('/admin/worker-tokens/:id', { config: { access: 'admin' }, schema: { ...hide, params: Id } }, async (req, reply) => {
    requireAdmin(requireUser(req));
    await deps.tokens.revoke(req.params.id);
    return reply.status(204).send();
  });
}
