import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, jsonSchemaTransform, type ZodTypeProvider } from 'fastify-type-provider-zod';
import swagger from '@fastify/swagger';
import type { ApiDeps } from './context.ts';
import { installApiErrors } from './errors.ts';
import { registerSessionRoutes } from './routes/session.ts';
import { registerAccountRoutes } from './routes/accounts.ts';
import { registerCredentialRoutes } from './routes/credentials.ts';
import { registerRepositoryRoutes } from './routes/repositories.ts';
import { registerAppRoutes } from './routes/apps.ts';
import { registerBuildRoutes } from './routes/builds.ts';
import { registerTimelineRoutes } from './routes/timeline.ts';
import { registerHookReceiver, registerHookRoutes } from './routes/hooks.ts';
import { registerWorkerRoutes } from './routes/workers.ts';
import { authenticateRequest } from './authenticate.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerLifecycleRoutes } from './routes/lifecycle.ts';
import { registerLifecycleAdminRoutes } from './routes/lifecycle-admin.ts';
import { installRouteAccess, type RouteTable } from './route-access.ts';

export type { ApiDeps, ApiUser, TypedApi } from './context.ts';
export { requireUser } from './context.ts';
export { registerWithAccess, type RouteAccess, type RouteEntry, type RouteTable } from './route-access.ts';

/**
 * Registers /healthz, /readyz, /metrics and /api/v1 (with its OpenAPI document at /api/v1/openapi.json) on `app`.
 * /api/v1 and /metrics authenticate with a bearer token or the dashboard's session cookie (see authenticate.ts).
 * Deny by default (route-access.ts): from here on, every route registered on `app`, in any scope, must declare its
 * `config.access` or registration throws. Resolves to the table of declared routes.
 */
export async function registerApi(app: FastifyInstance, deps: ApiDeps): Promise<RouteTable> {
  const routes = installRouteAccess(app, deps);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: { info: { title: 'BuildGrid API', version: '1' }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } },
    transform: jsonSchemaTransform,
  });
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.observe({
      route: req.routeOptions.url ?? 'unknown', method: req.method, status: reply.statusCode,
      seconds: reply.elapsedTime / 1000, bytes: Number(reply.getHeader('content-length') ?? 0),
    });
  });
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' } }, async (_req, reply) => {
    try {
      await deps.ready();
      return { status: 'ready' };
    } catch (err) {
      return reply.status(503).send({ status: 'unavailable', reason: (err as Error).message });
    }
  });
  const authenticate = authenticateRequest(deps);
  await app.register(async (scope) => {
    installApiErrors(scope);
    scope.addHook('onRequest', authenticate);
    registerMetricsRoute(scope, deps);
  });
  await app.register(async (scope) => {
    installApiErrors(scope);
    scope.addHook('onRequest', authenticate);
    const typed = scope.withTypeProvider<ZodTypeProvider>();
    registerSessionRoutes(typed, deps);
    registerAccountRoutes(typed, deps);
    registerCredentialRoutes(typed, deps);
    registerRepositoryRoutes(typed, deps);
    registerAppRoutes(typed, deps);
    registerBuildRoutes(typed, deps);
    registerTimelineRoutes(typed, deps);
    if (deps.hooks) registerHookRoutes(typed, deps, deps.hooks);
    if (deps.workers) registerWorkerRoutes(typed, deps, deps.workers);
    if (deps.lifecycle) {
      registerLifecycleRoutes(typed, deps, deps.lifecycle);
      registerLifecycleAdminRoutes(typed, deps, deps.lifecycle);
    }
    scope.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
    scope.setNotFoundHandler((req, reply) => {
      void reply.status(404).send({ error: { code: 'not_found', message: `no API route ${req.method} ${req.url}` } });
    });
  }, { prefix: '/api/v1' });
  const hooks = deps.hooks;
  if (hooks) await app.register((scope) => registerHookReceiver(scope, hooks), { prefix: '/hooks' });
  return routes;
}
