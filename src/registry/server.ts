import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, isAppError } from '../core/errors.ts';
import { parseReference, parseRepositoryName } from '../core/reference.ts';
import type { Action } from '../auth/types.ts';
import { retryAfterHeader } from '../auth/index.ts';
import { matchRoute, METHODS, mountSource, neededAction, type RouteName } from './routes.ts';
import { authenticate, allowedActions, challenge, type Caller, type ScopeNeed } from './gate.ts';
import { sendEmpty, sendJson, type Handler, type RegistryDeps, type RequestContext } from './context.ts';
import { sendRegistryError, READ_ONLY_MESSAGE } from './errors.ts';
import { getManifest, putManifest, deleteManifest, readReference } from './manifests.ts';
import { getBlob, deleteBlob } from './blobs.ts';
import { startUpload, patchUpload, putUpload, getUpload, cancelUpload } from './uploads.ts';
import { listTags, listCatalog, listReferrers } from './listing.ts';
import { tokenEndpoint, type GrantFn, type ScopeParser } from './token.ts';

/** One handler per (route, method). */
const HANDLERS: Partial<Record<`${RouteName} ${string}`, Handler>> = {
  'catalog GET': listCatalog,
  'tags GET': listTags,
  'manifest GET': getManifest,
  'manifest HEAD': getManifest,
  'manifest PUT': putManifest,
  'manifest DELETE': deleteManifest,
  'blob GET': getBlob,
  'blob HEAD': getBlob,
  'blob DELETE': deleteBlob,
  'upload-start POST': startUpload,
  'upload PATCH': patchUpload,
  'upload PUT': putUpload,
  'upload GET': getUpload,
  'upload DELETE': cancelUpload,
  'referrers GET': listReferrers,
};

/** Options of the /v2 request handler: the registry's dependencies plus the token-grant functions from auth/. */
export type RegistryOptions = RegistryDeps & { grant: GrantFn; parseScope: ScopeParser };

/**
 * Builds the /v2 request handler (a plain node:http handler, so the hot path carries no framework overhead). It does
 * the shared work once — routing, name validation, authentication, authorization, repository lookup, error
 * translation, metrics — and calls one handler per resource.
 */
export function createRegistryHandler(deps: RegistryOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = process.hrtime.bigint();
    let route = 'unknown';
    const finish = (status: number, bytes: number) => {
      deps.observe?.({ route, method: req.method ?? 'GET', status, seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes });
    };
    dispatch(req, res, deps, (r) => (route = r)).then(
      (bytes) => finish(res.statusCode, bytes),
      (err) => {
        if (!isAppError(err) || err.code === 'INTERNAL') deps.onError?.(err, req);
        const headers: Record<string, string> = {};
        if (isAppError(err, 'UNAUTHORIZED')) {
          const specific = (err as { challenge?: string }).challenge;
          headers['WWW-Authenticate'] = specific ?? (route === 'token' ? 'Basic realm="BuildGrid"' : challenge(deps));
        }
        if (isAppError(err, 'TOOMANYREQUESTS')) headers['Retry-After'] = retryAfterHeader(err as AppError);
        // A request body left unread would be parsed as the next request: close the connection instead.
        if (!req.complete) headers.Connection = 'close';
        finish(sendRegistryError(res, err, headers), 0);
      },
    );
  };
}

async function dispatch(req: IncomingMessage, res: ServerResponse, deps: RegistryOptions, setRoute: (r: string) => void): Promise<number> {
  const url = new URL(req.url ?? '/', 'http://registry.invalid');
  const match = matchRoute(url.pathname);
  if (!match) throw new AppError('NOT_FOUND', `no such registry endpoint: ${url.pathname.slice(0, 100)}`);
  setRoute(match.route);
  const method = req.method ?? 'GET';
  if (!METHODS[match.route].includes(method)) {
    throw new AppError('UNSUPPORTED', `${method} is not supported on this endpoint`);
  }
  if (match.route === 'token') return tokenEndpoint(req, res, url, deps);

  const name = match.name === undefined ? '' : parseRepositoryName(match.name);
  const action = neededAction(match.route, method);
  const caller = await authenticate(req, deps);
  if (!caller) {
    const scope: ScopeNeed[] = action && name ? [{ name, actions: scopeActions(action) }] : [];
    const from = mountSource(match.route, name, url.searchParams);
    if (from) scope.push({ name: from, actions: ['pull'] }); // so a token client mounts in one round
    const catalogScope = match.route === 'catalog' ? ',scope="registry:catalog:*"' : '';
    throw Object.assign(new AppError('UNAUTHORIZED', 'authentication required: docker login with your BuildGrid credentials'), {
      challenge: challenge(deps, scope) + catalogScope,
    });
  }
  if (match.route === 'base') return sendJson(res, 200, {});
  if (action) await authorize(caller, name, action, deps);
  if (match.route === 'manifest' && method === 'PUT') {
    const ref = parseReference(match.ref ?? '');
    const refusal = ref.kind === 'tag' ? deps.rules.tagRefusal(caller.principal, name, ref.tag) : null;
    if (refusal) throw new AppError('DENIED', refusal);
  }
  if (match.route === 'manifest' && (method === 'GET' || method === 'HEAD')) readReference(name, match.ref ?? ''); // 404, not 400
  if (deps.mirror && (match.route === 'manifest' || match.route === 'blob') && (method === 'GET' || method === 'HEAD')) {
    await deps.mirror.beforeRead(match.route, name, match.ref ?? ''); // a miss under mirror/ is fetched upstream first
  }
  const ctx: RequestContext = {
    req, res, method, query: url.searchParams, caller, name, ref: match.ref ?? '',
    repo: name ? await deps.metadata.repositories.get(name) : null,
    deps,
  };
  const handler = HANDLERS[`${match.route} ${method}`];
  if (!handler) return sendEmpty(res, 405);
  return handler(ctx);
}

function scopeActions(action: Action): Action[] {
  return action === 'pull' ? ['pull'] : action === 'push' ? ['pull', 'push'] : ['delete'];
}

async function authorize(caller: Caller, name: string, action: Action, deps: RegistryOptions): Promise<void> {
  const allowed = await allowedActions(caller, name, deps);
  if (allowed.has(action)) return;
  if (action !== 'pull') throw new AppError('DENIED', READ_ONLY_MESSAGE);
  if (caller.via === 'bearer') {
    // The token does not cover this repository: challenge for it (clients fetch a new token and retry once).
    throw Object.assign(new AppError('UNAUTHORIZED', `access to ${name} is not granted by this token`), {
      challenge: challenge(deps, { name, actions: ['pull'] }, 'insufficient_scope'),
    });
  }
  // Indistinguishable from a repository that does not exist: nobody learns what other accounts hold.
  throw new AppError('NAME_UNKNOWN', `repository ${name} not known to registry`);
}
