import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import type { Lifecycle } from '../../lifecycle/service.ts';
import { FsckBody, GcBody, LifecycleRunDetail, LifecycleRunSchema, RetentionReportSchema, RetentionRunBody, RunsQuery, UsageReportSchema } from '../schemas-lifecycle.ts';
import { requireUser, triggerOf, type ApiDeps, type TypedApi } from '../context.ts';
import { requireAdmin } from '../access.ts';
import { reportView } from './lifecycle.ts';

/**
 * Administrators: garbage collection and fsck (started in the background: 202 with the run, or with `wait` the
 * finished run and its report), their history, retention across every account, and the whole store's usage.
 * `buildgrid gc` and `buildgrid fsck` use these, so a collection runs inside the server that owns the store,
 * online, while pulls and pushes go on.
 */
export function registerLifecycleAdminRoutes(app: TypedApi, deps: ApiDeps, lifecycle: Lifecycle): void {
  const { metadata } = deps;
  const admin = (req: Parameters<typeof requireUser>[0]) => {
    const user = requireUser(req);
    requireAdmin(user);
    return user;
  };
  const detail = async (id: string) => {
    const run = await metadata.lifecycle.runs.get(id);
    if (!run) throw new AppError('NOT_FOUND', `lifecycle run ${id} not found`);
    return { ...run, report: await metadata.lifecycle.runs.report(id) };
  };

  app.post('/admin/gc', { config: { access: 'admin' }, schema: { body: GcBody, response: { 200: LifecycleRunDetail, 202: LifecycleRunSchema } } }, async (req, reply) => {
    const user = admin(req);
    const run = await lifecycle.startGc({ dryRun: req.body.dryRun, retention: req.body.retention, trigger: triggerOf(req), requestedBy: user.email });
    if (!req.body.wait) return reply.status(202).send(run);
    await lifecycle.wait(run.id);
    return reply.status(200).send(await detail(run.id));
  });

  app.post('/admin/fsck', { config: { access: 'admin' }, schema: { body: FsckBody, response: { 200: LifecycleRunDetail, 202: LifecycleRunSchema } } }, async (req, reply) => {
    const user = admin(req);
    const run = await lifecycle.startFsck({ repair: req.body.repair, trigger: triggerOf(req), requestedBy: user.email });
    if (!req.body.wait) return reply.status(202).send(run);
    await lifecycle.wait(run.id);
    return reply.status(200).send(await detail(run.id));
  });

  app.get('/admin/lifecycle/runs', { config: { access: 'admin' }, schema: { querystring: RunsQuery, response: { 200: z.array(LifecycleRunSchema) } } }, async (req) => {
    admin(req);
    return metadata.lifecycle.runs.list({ kind: req.query.kind, limit: req.query.limit });
  });

  app.get('/admin/lifecycle/runs/:id', { config: { access: 'admin' }, schema: { params: z.object({ id: z.string() }), response: { 200: LifecycleRunDetail } } }, async (req) => {
    admin(req);
    return detail(req.params.id);
  });

  app.post('/admin/retention/run', { config: { access: 'admin' }, schema: { body: RetentionRunBody, response: { 200: RetentionReportSchema } } }, async (req) => {
    const user = admin(req);
    return reportView(await lifecycle.retention({ account: null }, { dryRun: req.body.dryRun, trigger: triggerOf(req), requestedBy: user.email }));
  });

  app.get('/admin/usage', { config: { access: 'admin' }, schema: { response: { 200: UsageReportSchema } } }, async (req) => {
    admin(req);
    return lifecycle.usage(null);
  });
}
