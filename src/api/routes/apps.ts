import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import type { Application, Metadata, Service } from '../../metadata/types.ts';
import { AppDetail, AppParams, AppView, CreateAppBody, NamespaceParams, ServiceBody, ServicePatch, ServiceView, SetEnvBody } from '../schemas.ts';
import { requireUser, type ApiDeps, type TypedApi } from '../context.ts';
import { accountFor, appFor } from '../access.ts';

async function appView(metadata: Metadata, app: Application, namespace: string) {
  const [last] = await metadata.deployments.list(app.id, { limit: 1 });
  return {
    id: app.id, name: app.name, slug: app.slug, namespace, env: app.env, createdAt: app.createdAt,
    lastDeployment: last ? { id: last.id, status: last.status, createdAt: last.createdAt, finishedAt: last.finishedAt } : null,
  };
}

/** The public view of a service, with its latest build. */
export async function serviceView(metadata: Metadata, s: Service, registryHost: string) {
  const [latest] = await metadata.builds.list({ serviceId: s.id, limit: 1 });
  return {
    id: s.id, name: s.name, gitUrl: s.gitUrl, branch: s.branch, dockerfile: s.dockerfile, context: s.context,
    buildArgs: s.buildArgs, repository: s.repository, imageRepository: `${registryHost}/${s.repository}`,
    gitAuth: s.gitAuth.kind, sshPublicKey: s.gitAuth.kind === 'ssh' ? s.gitAuth.publicKey : null,
    pollIntervalSeconds: s.pollIntervalSeconds,
    latest: latest ? {
      buildId: latest.id, status: latest.status, commit: latest.commit,
      image: latest.status === 'succeeded' && latest.commit ? `${registryHost}/${latest.repository}:${latest.commit}` : null,
      finishedAt: latest.finishedAt,
    } : null,
  };
}

/** Applications and their services. */
export function registerAppRoutes(app: TypedApi, deps: ApiDeps): void {
  const { metadata, catalog } = deps;

  app.get('/accounts/:namespace/apps', { config: { access: { account: 'viewer' } }, schema: { params: NamespaceParams, response: { 200: z.array(AppView) } } }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'viewer');
    return Promise.all((await metadata.applications.list(account.id)).map((a) => appView(metadata, a, account.namespace)));
  });

  app.post('/accounts/:namespace/apps', { config: { access: { account: 'developer' } }, schema: { params: NamespaceParams, body: CreateAppBody, response: { 201: AppView } } }, async (req, reply) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    const a = await catalog.createApplication(account, req.body.name, req.body.env);
    return reply.status(201).send(await appView(metadata, a, account.namespace));
  });

  app.get('/accounts/:namespace/apps/:app', { config: { access: { account: 'viewer' } }, schema: { params: AppParams, response: { 200: AppDetail } } }, async (req) => {
    const { account, app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'viewer');
    const services = await Promise.all((await metadata.services.list(a.id)).map((s) => serviceView(metadata, s, deps.registryHost)));
    return { ...(await appView(metadata, a, account.namespace)), services };
  });

  app.put('/accounts/:namespace/apps/:app/env', { config: { access: { account: 'developer' } }, schema: { params: AppParams, body: SetEnvBody, response: { 200: AppView } } }, async (req) => {
    const { account, app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'developer');
    return appView(metadata, await catalog.setEnv(a, req.body.env), account.namespace);
  });

  app.post('/accounts/:namespace/apps/:app/services', { config: { access: { account: 'developer' } }, schema: { params: AppParams, body: ServiceBody, response: { 201: ServiceView } } }, async (req, reply) => {
    const { account, app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'developer');
    const s = await catalog.addService(account, a, req.body);
    return reply.status(201).send(await serviceView(metadata, s, deps.registryHost));
  });

  app.patch('/accounts/:namespace/apps/:app/services/:service', { config: { access: { account: 'developer' } },
    schema: { params: AppParams.extend({ service: z.string() }), body: ServicePatch, response: { 200: ServiceView } },
  }, async (req) => {
    const { app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'developer');
    const s = (await metadata.services.list(a.id)).find((x) => x.name === req.params.service);
    if (!s) throw new AppError('NOT_FOUND', `application ${a.name} has no service named ${req.params.service}`);
    return serviceView(metadata, await catalog.updateService(s, req.body), deps.registryHost);
  });
}
