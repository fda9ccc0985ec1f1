import type { FastifyInstance, FastifyRequest, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger } from 'fastify';
import { serializerCompiler, validatorCompiler, jsonSchemaTransform, type ZodTypeProvider } from 'fastify-type-provider-zod';
import swagger from '@fastify/swagger';
import { AppError } from '../core/errors.ts';
import type { Metadata } from '../metadata/types.ts';
import type { People, Principal } from '../auth/index.ts';
import { installApiErrors } from './errors.ts';
import { registerSessionRoutes } from './routes/session.ts';
import { registerAccountRoutes } from './routes/accounts.ts';
import { registerCredentialRoutes } from './routes/credentials.ts';
import { registerRepositoryRoutes } from './routes/repositories.ts';

/** What the REST API needs from the composition root. */
export interface ApiDeps {
  metadata: Metadata;
  people: People;
  /** host[:port] of the registry, as used in image names and `docker login`. */
  registryHost: string;
  publicUrl: string;
  metrics: { observe(m: { route: string; method: string; status: number; seconds: number; bytes: number }): void; render(): Promise<{ contentType: string; body: string }> };
  /** Resolves when the server can serve (database and storage answer); throws otherwise. */
  ready(): Promise<void>;
}

/** The signed-in user of an API request. */
export type ApiUser = Extract<Principal, { kind: 'user' }>;

declare module 'fastify' {
  interface FastifyRequest { principal?: ApiUser }
}

/** The caller, or AppError UNAUTHORIZED. */
export function requireUser(req: FastifyRequest): ApiUser {
  if (!req.principal) throw new AppError('UNAUTHORIZED', 'sign in first: `buildgrid login` or POST /api/v1/auth/login, then send Authorization: Bearer <token>');
  return req.principal;
}

/** The Fastify instance route modules register on (zod-typed). */
export type TypedApi = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/**
 * Registers /healthz, /readyz, /metrics and /api/v1 (with its OpenAPI document at /api/v1/openapi.json) on `app`.
 */
export async function registerApi(app: FastifyInstance, deps: ApiDeps): Promise<void> {
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
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await deps.ready();
      return { status: 'ready' };
    } catch (err) {
      return reply.status(503).send({ status: 'unavailable', reason: (err as Error).message });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    const m = await deps.metrics.render();
    return reply.type(m.contentType).send(m.body);
  });
  await app.register(async (scope) => {
    installApiErrors(scope);
    scope.addHook('onRequest', async (req) => {
      const h = req.headers.authorization;
      if (h && /^bearer /i.test(h)) {
        const p = await deps.people.authenticateApiToken(h.slice(7).trim());
        if (p.kind === 'user') req.principal = p;
      }
    });
    const typed = scope.withTypeProvider<ZodTypeProvider>();
    registerSessionRoutes(typed, deps);
    registerAccountRoutes(typed, deps);
    registerCredentialRoutes(typed, deps);
    registerRepositoryRoutes(typed, deps);
    scope.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    scope.setNotFoundHandler((req, reply) => {
      void reply.status(404).send({ error: { code: 'not_found', message: `no API route ${req.method} ${req.url}` } });
    });
  }, { prefix: '/api/v1' });
}
