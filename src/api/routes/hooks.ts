import type { FastifyError, FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError, type ErrorCode } from '../../core/errors.ts';
import type { NotificationDelivery, NotificationEndpoint } from '../../metadata/types.ts';
import {
  AppParams, CreateNotificationBody, CreatedNotificationEndpoint, HookDeliverySchema, HookInfoSchema, NamespaceParams,
  NotificationDeliverySchema, NotificationEndpointSchema,
} from '../schemas.ts';
import { requireUser, type ApiDeps, type HooksDeps, type TypedApi } from '../context.ts';
import { accountFor, appFor } from '../access.ts';

const STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHORIZED: 401, INVALID: 400, NOT_FOUND: 404, DENIED: 403, CONFLICT: 409, TOOMANYREQUESTS: 429 };

/**
 * POST /hooks/:hookId — the redeploy hook git hosts call. Its own scope keeps the raw body (signatures cover the
 * exact bytes) and caps it at hookMaxBodyBytes; its requests are logged at warn and above only, since the URL may
 * carry the secret. Errors use the API's `{ error: { code, message } }` shape.
 */
export async function registerHookReceiver(scope: FastifyInstance, hooks: HooksDeps): Promise<void> {
  const limit = hooks.maxBodyBytes;
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_req, body, done) => done(null, body));
  scope.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      if (!STATUS[err.code]) req.log.error({ err }, 'hook request failed');
      return reply.status(STATUS[err.code] ?? 500).send({ error: { code: err.code.toLowerCase(), message: err.message } });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: { code: 'too_large', message: `the body is larger than ${limit} bytes (hookMaxBodyBytes); nothing was started` } });
    }
    if (err.statusCode && err.statusCode < 500) return reply.status(err.statusCode).send({ error: { code: 'invalid', message: err.message } });
    req.log.error({ err }, 'hook request failed');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error; see the server log' } });
  });
  scope.post('/:hookId', { config: { access: 'public' }, bodyLimit: limit, logLevel: 'warn', schema: { hide: true } }, async (req, reply) => {
    const q = req.query as Record<string, string | string[] | undefined>;
    const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
    const r = await hooks.receiver.handle({
      hookId: (req.params as { hookId: string }).hookId,
      headers: req.headers, contentType: req.headers['content-type'],
      body: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      key: first(q.key), services: first(q.services),
    });
    return reply.status(r.statusCode).send(r.body);
  });
}

const endpointView = (e: NotificationEndpoint) => ({ id: e.id, url: e.url, events: e.events, description: e.description, createdBy: e.createdBy, createdAt: e.createdAt });
const deliveryView = (d: NotificationDelivery) => {
  let payload: unknown = d.payload;
  try { payload = JSON.parse(d.payload); } catch { /* keep the text */ }
  return {
    id: d.id, endpointId: d.endpointId, event: d.event, eventId: d.eventSeq, status: d.status, attemptCount: d.attemptCount, maxAttempts: d.maxAttempts,
    nextAttemptAt: d.nextAttemptAt, lastStatusCode: d.lastStatusCode, lastError: d.lastError, redeliveryOf: d.redeliveryOf,
    createdAt: d.createdAt, completedAt: d.completedAt, attempts: d.attempts, payload,
  };
};

/** Hook management (per application) and notification endpoints (per account) under /api/v1. */
export function registerHookRoutes(app: TypedApi, deps: ApiDeps, hooks: HooksDeps): void {
  const { metadata } = deps;
  const limitQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

  app.get('/accounts/:namespace/apps/:app/hook', { config: { access: { account: 'viewer' } }, schema: { params: AppParams, response: { 200: HookInfoSchema } } }, async (req) => {
    const user = requireUser(req);
    const { account, app: a, role } = await appFor(metadata, user, req.params.namespace, req.params.app, 'viewer');
    const info = await hooks.admin.show(account, a);
    const mayUse = user.isAdmin || role !== 'viewer';
    return { ...info, url: mayUse ? info.url : null, secret: mayUse ? info.secret : null };
  });

  app.post('/accounts/:namespace/apps/:app/hook/rotate', { config: { access: { account: 'developer' } }, schema: { params: AppParams, response: { 200: HookInfoSchema } } }, async (req) => {
    const { account, app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'developer');
    return hooks.admin.rotate(account, a);
  });

  app.get('/accounts/:namespace/apps/:app/hook/deliveries', { config: { access: { account: 'viewer' } }, schema: { params: AppParams, querystring: limitQuery, response: { 200: z.array(HookDeliverySchema) } } }, async (req) => {
    const { account, app: a } = await appFor(metadata, requireUser(req), req.params.namespace, req.params.app, 'viewer');
    return hooks.admin.deliveries(account, a, req.query.limit);
  });

  app.get('/accounts/:namespace/notifications', { config: { access: { account: 'developer' } }, schema: { params: NamespaceParams, response: { 200: z.array(NotificationEndpointSchema) } } }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    return (await hooks.notifications.list(account)).map(endpointView);
  });

  app.post('/accounts/:namespace/notifications', { config: { access: { account: 'developer' } }, schema: { params: NamespaceParams, body: CreateNotificationBody, response: { 201: CreatedNotificationEndpoint } } }, async (req, reply) => {
    const user = requireUser(req);
    const { account } = await accountFor(metadata, user, req.params.namespace, 'developer');
    const { endpoint, secret } = await hooks.notifications.add(account, req.body, user.email);
    return reply.status(201).send({ ...endpointView(endpoint), secret });
  });

  app.delete('/accounts/:namespace/notifications/:id', { config: { access: { account: 'developer' } }, schema: { params: NamespaceParams.extend({ id: z.string() }) } }, async (req, reply) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    await hooks.notifications.remove(account, req.params.id);
    return reply.status(204).send();
  });

  app.get('/accounts/:namespace/notifications/deliveries', { config: { access: { account: 'developer' } },
    schema: { params: NamespaceParams, querystring: limitQuery.extend({ endpoint: z.string().optional() }), response: { 200: z.array(NotificationDeliverySchema) } },
  }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    return (await hooks.notifications.deliveries(account, { endpointId: req.query.endpoint, limit: req.query.limit })).map(deliveryView);
  });

  app.post('/accounts/:namespace/notifications/deliveries/:id/redeliver', { config: { access: { account: 'developer' } },
    schema: { params: NamespaceParams.extend({ id: z.string() }), response: { 202: NotificationDeliverySchema } },
  }, async (req, reply) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    return reply.status(202).send(deliveryView(await hooks.notifications.redeliver(account, req.params.id)));
  });
}
