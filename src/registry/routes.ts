/**
 * The /v2 route table. Each route names its resource, the methods it answers and the repository action it needs.
 * Names may contain slashes, so matching is by suffix: `/v2/<name>/manifests/<reference>`.
 */
import type { Action } from '../auth/types.ts';
import { isRepositoryName } from '../core/reference.ts';

export type RouteName =
  | 'base' | 'token' | 'catalog' | 'tags' | 'manifest' | 'blob' | 'upload-start' | 'upload' | 'referrers';

export interface RouteMatch {
  route: RouteName;
  /** Repository name (not yet validated). */
  name?: string;
  /** Manifest reference, blob digest, upload id or referrers subject. */
  ref?: string;
}

const PATTERNS: Array<[RouteName, RegExp]> = [
  ['tags', /^\/v2\/(.+)\/tags\/list$/],
  ['manifest', /^\/v2\/(.+)\/manifests\/([^/]+)$/],
  ['upload-start', /^\/v2\/(.+)\/blobs\/uploads\/?$/],
  ['upload', /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/],
  ['blob', /^\/v2\/(.+)\/blobs\/([^/]+)$/],
  ['referrers', /^\/v2\/(.+)\/referrers\/([^/]+)$/],
];

/** Matches a /v2 path (without query) to a route, or null. */
export function matchRoute(path: string): RouteMatch | null {
  if (path === '/v2/' || path === '/v2') return { route: 'base' };
  if (path === '/v2/token') return { route: 'token' };
  if (path === '/v2/_catalog') return { route: 'catalog' };
  for (const [route, re] of PATTERNS) {
    const m = re.exec(path);
    if (m) return { route, name: m[1], ref: m[2] };
  }
  return null;
}

/** The methods each route answers. */
export const METHODS: Record<RouteName, readonly string[]> = {
  base: ['GET', 'HEAD'],
  token: ['GET', 'POST'],
  catalog: ['GET'],
  tags: ['GET'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
  'upload-start': ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  referrers: ['GET'],
};

/** The repository action a request needs (null: authentication alone is enough). */
export function neededAction(route: RouteName, method: string): Action | null {
  if (route === 'base' || route === 'token' || route === 'catalog') return null;
  if (method === 'DELETE' && (route === 'manifest' || route === 'blob')) return 'delete';
  if (method === 'GET' || method === 'HEAD') return route === 'upload' ? 'push' : 'pull';
  return 'push';
}

/**
 * The repository a cross-repository mount (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`) reads from, when it is a
 * valid name other than `name`: the request then also needs `pull` there. Null for every other request.
 */
export function mountSource(route: RouteName, name: string, query: URLSearchParams): string | null {
  if (route !== 'upload-start' || !query.get('mount')) return null;
  const from = query.get('from');
  return from && from !== name && isRepositoryName(from) ? from : null;
}
