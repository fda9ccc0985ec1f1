import type { FastifyInstance, FastifyPluginAsync, FastifyPluginOptions, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import { AppError } from '../core/errors.ts';
import type { Metadata, Role } from '../metadata/types.ts';
import { requireUser } from './context.ts';
import { accountFor, buildFor, requireAdmin } from './access.ts';
import { requireWorker } from './routes/workers.ts';

/**
 * Deny by default: every route states, where it is declared, who may call it (`config: { access }`), and that
 * declaration is what the server enforces. A route that states nothing is refused when it is registered, so the
 * server does not start with it.
 *
 * - `'public'`: anyone (sign-in, health, the dashboard's files, the webhook receiver, which checks its own secret);
 * - `'signedIn'`: any signed-in person (401 otherwise);
 * - `'admin'`: administrators (401 anonymous, 403 others);
 * - `'worker'`: a build worker's token (401 for everyone else, people included);
 * - `{ account: role }`: at least `role` in the account named by the route's `:namespace` (administrators always);
 *   an account the caller is not a member of is 404, as if it did not exist; a lower role is 403;
 * - `{ build: role }`: the same for the account of the build named by the route's `:id`.
 */
export type RouteAccess = 'public' | 'signedIn' | 'admin' | 'worker' | { account: Role } | { build: Role };

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route (see api/route-access.ts). Required: a route without it is refused at start-up. */
    access?: RouteAccess;
    /** What a caller refused for want of credentials (401) is told to do, when the generic advice does not fit. */
    signInHint?: string;
  }
}

/** One registered method and URL with its declared access. */
export interface RouteEntry { method: string; url: string; access: RouteAccess }

/** The routes registered since installRouteAccess, in registration order (HEAD routes fastify adds included). */
export interface RouteTable { list(): RouteEntry[] }

const kPending = Symbol.for('buildgrid.pendingRouteAccess');
const ROLES = new Set(['viewer', 'developer', 'owner']);

function describe(access: unknown): string {
  return JSON.stringify(access) ?? String(access);
}

/** Throws (a programming error) unless `access` is a well-formed declaration the route at `url` can satisfy. */
function checkDeclaration(access: unknown, method: string, url: string): asserts access is RouteAccess {
  const where = `${method} ${url}`;
  if (access === undefined) {
    throw new Error(`route ${where} declares no access: add config: { access: 'public' | 'signedIn' | 'admin' | 'worker' | `
      + `{ account: role } | { build: role } } where the route is declared (see src/api/route-access.ts)`);
  }
  if (access === 'public' || access === 'signedIn' || access === 'admin' || access === 'worker') return;
  const o = access as Record<string, unknown>;
  const keys = typeof o === 'object' && o !== null ? Object.keys(o) : [];
  const [kind] = keys;
  if (keys.length !== 1 || (kind !== 'account' && kind !== 'build') || !ROLES.has(o[kind] as string)) {
    throw new Error(`route ${where} declares an unknown access ${describe(access)}; see src/api/route-access.ts for the forms`);
  }
  const param = kind === 'account' ? ':namespace' : ':id';
  if (!url.split('/').includes(param)) {
    throw new Error(`route ${where} declares ${describe(access)} but its URL has no ${param} to find the account by`);
  }
}

/** The onRequest hook that enforces `access` (null for public routes). Runs after the scope's authentication. */
function enforcer(access: RouteAccess, metadata: Metadata, signInHint: string | undefined): onRequestHookHandler | null {
  if (access === 'public') return null;
  if (access === 'worker') return async (req) => void requireWorker(req);
  return async (req: FastifyRequest) => {
    if (!req.principal && signInHint) throw new AppError('UNAUTHORIZED', signInHint);
    const user = requireUser(req);
    if (access === 'signedIn') return;
    if (access === 'admin') return requireAdmin(user);
    const params = req.params as Record<string, string>;
    if ('account' in access) await accountFor(metadata, user, params.namespace!, access.account);
    else await buildFor(metadata, user, params.id!, access.build);
  };
}

/**
 * Installs deny by default on `app` for every route registered after this call, in any scope: an onRoute hook that
 * throws for a route with no (or a malformed) `config.access`, and otherwise adds the route-level onRequest hook that
 * enforces it. The enforcement runs in onRequest, after the scope's authentication and before the body is read or
 * validated, so a refused caller learns nothing from validation errors. Returns the table of what was declared.
 */
export function installRouteAccess(app: FastifyInstance, deps: { metadata: Metadata }): RouteTable {
  const table: RouteEntry[] = [];
  app.addHook('onRoute', function (this: FastifyInstance, opts: RouteOptions) {
    const methods = (Array.isArray(opts.method) ? opts.method : [opts.method]).map(String);
    const access = opts.config?.access ?? (this as unknown as Record<symbol, RouteAccess | undefined>)[kPending];
    checkDeclaration(access, methods.join(','), opts.url);
    opts.config = { ...opts.config, access };
    const enforce = enforcer(access, deps.metadata, opts.config?.signInHint);
    if (enforce) {
      const existing = opts.onRequest === undefined ? [] : Array.isArray(opts.onRequest) ? opts.onRequest : [opts.onRequest];
      opts.onRequest = [enforce, ...existing];
    }
    for (const method of methods) table.push({ method, url: opts.url, access });
  });
  return { list: () => [...table] };
}

/**
 * Registers a third-party plugin whose routes cannot carry a `config` of ours (e.g. @fastify/static) with every route
 * it adds declared `access`. Anything else should declare its access on the route itself.
 */
export async function registerWithAccess<O extends FastifyPluginOptions>(
  app: FastifyInstance, access: RouteAccess, plugin: FastifyPluginAsync<O>, opts: O,
): Promise<void> {
  const slot = app as unknown as Record<symbol, RouteAccess | undefined>;
  slot[kPending] = access;
  try {
    await app.register(plugin, opts);
  } finally {
    slot[kPending] = undefined;
  }
}
