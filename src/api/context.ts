import type { FastifyInstance, FastifyRequest, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError } from '../core/errors.ts';
import type { Metadata } from '../metadata/types.ts';
import type { People, Principal } from '../auth/index.ts';
import type { Catalog } from '../builds/catalog.ts';
import type { Deployer } from '../builds/deploy.ts';
import type { LogStore } from '../storage/logs.ts';
import type { EventBus } from '../events/bus.ts';

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
  catalog: Catalog;
  deployer: Deployer;
  logs: LogStore;
  events: EventBus;
}

/** The trigger recorded for work started by this request: the CLI and dashboard say who they are. */
export function triggerOf(req: FastifyRequest): 'cli' | 'web' | 'api' {
  const c = req.headers['x-buildgrid-client'];
  return c === 'cli' ? 'cli' : c === 'web' ? 'web' : 'api';
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

