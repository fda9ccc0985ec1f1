import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import type { Account, Application, TrashEntry } from '../../metadata/types.ts';
import type { Lifecycle, PolicyInput } from '../../lifecycle/service.ts';
import type { RetentionReport } from '../../lifecycle/retention.ts';
import { AppParams, NamespaceParams } from '../schemas.ts';
import {
  PolicyBody, PolicyReply, RetentionPolicySchema, RetentionReportSchema, RetentionRunBody, TrashEntrySchema, TrashQuery, UsageReportSchema, UsageRowSchema,
} from '../schemas-lifecycle.ts';
import { requireUser, triggerOf, type ApiDeps, type TypedApi } from '../context.ts';
import { accountFor, appFor } from '../access.ts';

/** The public view of a trash entry. */
export function trashView(e: TrashEntry, registryHost: string, appSlug: string | null) {
  return {
    id: e.id, application: appSlug, repository: e.repository, digest: e.digest, tags: e.tags.map((t) => t.name),
    images: e.tags.map((t) => `${registryHost}/${e.repository}:${t.name}`), manifests: e.manifests.length, buildIds: e.buildIds,
    reason: e.reason, removedBy: e.removedBy, removedAt: e.removedAt, expiresAt: e.expiresAt, restoredAt: e.restoredAt, purgedAt: e.purgedAt,
    bytes: e.bytes, state: e.state,
  };
}

/** A report without internal ids. */
export function reportView(r: RetentionReport) {
  return { ...r, applications: r.applications.map((a) => ({ ...a, decisions: a.decisions.map(({ repositoryId: _id, ...d }) => d) })) };
}

const policyInput = (b: z.infer<typeof PolicyBody>): PolicyInput => ({
  keepLastPerBranch: b.keepLastPerBranch ?? null, keepNewerThanDays: b.keepNewerThanDays ?? null,
  keepPulledWithinDays: b.keepPulledWithinDays ?? 30, graceDays: b.graceDays ?? 7, enabled: b.enabled ?? true,
});

/**
 * Per-account and per-application lifecycle: retention policies (owners set them), dry runs (developers) and real
 * runs (owners), the trash of removed images (developers restore), and storage usage (members).
 */
export function registerLifecycleRoutes(app: TypedApi, deps: ApiDeps, lifecycle: Lifecycle): void {
  const { metadata } = deps;
  const slugs = async (accountId: string) => new Map((await metadata.applications.list(accountId)).map((a) => [a.id, a.slug]));
  // Policies: the account default at /accounts/:namespace/retention, an application's own under its path.
  const scopes = {
    account: async (user: ReturnType<typeof requireUser>, p: { namespace: string }, min: 'viewer' | 'owner') =>
      ({ account: (await accountFor(metadata, user, p.namespace, min)).account, app: null }),
    app: async (user: ReturnType<typeof requireUser>, p: { namespace: string; app: string }, min: 'viewer' | 'owner') => {
      const { account, app: a } = await appFor(metadata, user, p.namespace, p.app, min);
      return { account, app: a as Application | null };
    },
  };
  const getPolicy = async (s: { account: Account; app: Application | null }) => {
    const { own, effective } = await lifecycle.policy(s.account, s.app);
    return { policy: own, effective };
  };
  const deletePolicy = async (s: { account: Account; app: Application | null }) => {
    if (!(await lifecycle.deletePolicy(s.account, s.app))) throw new AppError('NOT_FOUND', 'no retention policy is set here');
  };
  app.get('/accounts/:namespace/retention', { config: { access: { account: 'viewer' } }, schema: { params: NamespaceParams, response: { 200: PolicyReply } } },
    async (req) => getPolicy(await scopes.account(requireUser(req), req.params, 'viewer')));
  app.put('/accounts/:namespace/retention', { config: { access: { account: 'owner' } }, schema: { params: NamespaceParams, body: PolicyBody, response: { 200: RetentionPolicySchema } } }, async (req) => {
    const s = await scopes.account(requireUser(req), req.params, 'owner');
    return lifecycle.setPolicy(s.account, null, policyInput(req.body), requireUser(req).email);
  });
  app.delete('/accounts/:namespace/retention', { config: { access: { account: 'owner' } }, schema: { params: NamespaceParams } }, async (req, reply) => {
    await deletePolicy(await scopes.account(requireUser(req), req.params, 'owner'));
    return reply.status(204).send();
  });
  app.get('/accounts/:namespace/apps/:app/retention', { config: { access: { account: 'viewer' } }, schema: { params: AppParams, response: { 200: PolicyReply } } },
    async (req) => getPolicy(await scopes.app(requireUser(req), req.params, 'viewer')));
  app.put('/accounts/:namespace/apps/:app/retention', { config: { access: { account: 'owner' } }, schema: { params: AppParams, body: PolicyBody, response: { 200: RetentionPolicySchema } } }, async (req) => {
    const s = await scopes.app(requireUser(req), req.params, 'owner');
    return lifecycle.setPolicy(s.account, s.app, policyInput(req.body), requireUser(req).email);
  });
  app.delete('/accounts/:namespace/apps/:app/retention', { config: { access: { account: 'owner' } }, schema: { params: AppParams } }, async (req, reply) => {
    await deletePolicy(await scopes.app(requireUser(req), req.params, 'owner'));
    return reply.status(204).send();
  });

  const run = async (req: Parameters<typeof triggerOf>[0], account: Account, a: Application | undefined, dryRun: boolean) =>
    reportView(await lifecycle.retention({ account, app: a }, { dryRun, trigger: triggerOf(req), requestedBy: requireUser(req).email }));
  app.post('/accounts/:namespace/apps/:app/retention/run', { config: { access: { account: 'developer' } },
    schema: { params: AppParams, body: RetentionRunBody, response: { 200: RetentionReportSchema } },
  }, async (req) => {
    const { account, app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, req.body.dryRun ? 'developer' : 'owner');
    return run(req, account, a, req.body.dryRun);
  });
  app.post('/accounts/:namespace/retention/run', { config: { access: { account: 'developer' } },
    schema: { params: NamespaceParams, body: RetentionRunBody, response: { 200: RetentionReportSchema } },
  }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, req.body.dryRun ? 'developer' : 'owner');
    return run(req, account, undefined, req.body.dryRun);
  });

  app.get('/accounts/:namespace/trash', { config: { access: { account: 'viewer' } }, schema: { params: NamespaceParams, querystring: TrashQuery, response: { 200: z.array(TrashEntrySchema) } } }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'viewer');
    const apps = await slugs(account.id);
    const appId = req.query.app ? [...apps].find(([, slug]) => slug === req.query.app)?.[0] : undefined;
    if (req.query.app && !appId) throw new AppError('NOT_FOUND', `application ${req.query.app} not found in ${account.namespace}`);
    const list = await metadata.lifecycle.trash.list({ accountId: account.id, applicationId: appId, state: req.query.all ? 'all' : 'removed', limit: req.query.limit });
    return list.map((e) => trashView(e, deps.registryHost, e.applicationId ? apps.get(e.applicationId) ?? null : null));
  });
  app.post('/accounts/:namespace/trash/:id/restore', { config: { access: { account: 'developer' } },
    schema: { params: NamespaceParams.extend({ id: z.string() }), response: { 200: TrashEntrySchema } },
  }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    const entry = await metadata.lifecycle.trash.get(req.params.id);
    if (!entry || entry.accountId !== account.id) throw new AppError('NOT_FOUND', `removed image ${req.params.id} not found in ${account.namespace}`);
    const restored = await lifecycle.restore(entry);
    return trashView(restored, deps.registryHost, restored.applicationId ? (await slugs(account.id)).get(restored.applicationId) ?? null : null);
  });

  app.get('/accounts/:namespace/usage', { config: { access: { account: 'viewer' } }, schema: { params: NamespaceParams, response: { 200: UsageReportSchema } } }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'viewer');
    return lifecycle.usage(account);
  });
  app.get('/accounts/:namespace/apps/:app/usage', { config: { access: { account: 'viewer' } },
    schema: { params: AppParams, response: { 200: z.object({ application: UsageRowSchema, repositories: z.array(UsageRowSchema) }) } },
  }, async (req) => {
    const { account, app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'viewer');
    const usage = await lifecycle.usage(account);
    const name = `${account.namespace}/${a.slug}`;
    const repos = new Set((await metadata.services.list(a.id)).map((s) => s.repository));
    return {
      application: usage.applications.find((r) => r.name === name)!,
      repositories: usage.repositories.filter((r) => repos.has(r.name)),
    };
  });
}
