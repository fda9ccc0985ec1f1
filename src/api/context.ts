import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { AppError } from '../core/errors.ts';
import type { Metadata } from '../metadata/types.ts';
import type { People, Principal, WorkerPrincipal, WorkerTokens } from '../auth/index.ts';
import type { BuildBackend } from '../builds/backend.ts';
import type { Catalog } from '../builds/catalog.ts';
import type { Deployer } from '../builds/deploy.ts';
import type { QueueReporter } from '../builds/queue-estimate.ts';
import type { LogStore } from '../storage/logs.ts';
import type { EventBus } from '../events/bus.ts';
import type { HookReceiver } from '../hooks/receiver.ts';
import type { HookAdmin } from '../hooks/admin.ts';
import type { Notifications } from '../hooks/notifications.ts';
import type { Lifecycle } from '../lifecycle/service.ts';

/** Triggers and notifications (absent: the /hooks routes and their management API are not served). */
export interface HooksDeps { receiver: HookReceiver; admin: HookAdmin; notifications: Notifications; maxBodyBytes: number }

/** What the worker endpoints need: worker tokens, the server-side build backend and the settings workers adopt. */
export interface WorkerApiDeps {
  tokens: WorkerTokens;
  backend: BuildBackend;
  settings: { registry: { host: string; insecure: boolean }; heartbeatMs: number; buildTimeoutMs: number; allowPrivateNetworks: boolean | string[] };
}

/** What the REST API needs from the composition root. */
export interface ApiDeps {
  metadata: Metadata;
  people: People;
  /** host[:port] of the registry, as used in image names and `docker login`. */
  registryHost: string;
  /**
   * The client's address (core/client-address.ts: X-Forwarded-For from trusted proxies only). Use it, not req.ip, for
   * anything keyed on who is asking (login limits, audit). Absent: the socket's peer.
   */
  clientAddress?: (req: IncomingMessage) => string;
  publicUrl: string;
  /** Key of the dashboard sessions' CSRF tokens (derived from the server key; see session-cookie.ts). */
  sessionKey: Uint8Array;
  /**
   * Where GET /metrics is served: 'admin' on this port to administrators only, 'elsewhere' when a separate listener
   * (metricsHost) serves it (this port then answers 404).
   */
  metricsAccess: 'admin' | 'elsewhere';
  metrics: { observe(m: { route: string; method: string; status: number; seconds: number; bytes: number }): void; render(): Promise<{ contentType: string; body: string }> };
  /** Resolves when the server can serve (database and storage answer); throws otherwise. */
  ready(): Promise<void>;
  catalog: Catalog;
  deployer: Deployer;
  /** Positions and wait estimates of queued builds (absent: builds carry queue null). */
  queue?: QueueReporter;
  logs: LogStore;
  events: EventBus;
  hooks?: HooksDeps;
  /** Retention, trash, usage, garbage collection and fsck (absent: those routes are not served). */
  lifecycle?: Lifecycle;
  /** Remote build workers: /api/v1/worker/* and the worker-token administration (absent: not served). */
  workers?: WorkerApiDeps;
}

/** The trigger recorded for work started by this request: the CLI and dashboard say who they are. */
export function triggerOf(req: FastifyRequest): 'cli' | 'web' | 'api' {
  const c = req.headers['x-buildgrid-client'];
  return c === 'cli' ? 'cli' : c === 'web' ? 'web' : 'api';
}

/** The signed-in user of an API request. */
export type ApiUser = Extract<Principal, { kind: 'user' }>;

declare module 'fastify' {
  interface FastifyRequest { principal?: ApiUser; worker?: WorkerPrincipal }
}

/** The caller, or AppError UNAUTHORIZED. */
export function requireUser(req: FastifyRequest): ApiUser {
  if (!req.principal) throw new AppError('UNAUTHORIZED', 'sign in first: `buildgrid login` or POST /api/v1/auth/login, then send Authorization: Bearer <token>');
  return req.principal;
}

/** The Fastify instance route modules register on (zod-typed). */
export type TypedApi = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

