import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

/**
 * The dashboard's one way to reach the server: an openapi-fetch client typed by `paths` (generated from
 * /api/v1/openapi.json, see web/scripts/api-types.ts). The session is an HttpOnly cookie the browser sends by itself
 * (no script can read it, so no token is ever kept in this page or in its storage); every POST/PUT/PATCH/DELETE carries
 * the session's CSRF token (X-CSRF-Token, from the sign-in or GET /api/v1/auth/session), and every request says it
 * comes from the dashboard (builds it starts are recorded with the trigger "web").
 */

let csrfToken: string | null = null;

/** Remembers the session's CSRF token (null: signed out). Kept in memory only. */
export function setCsrfToken(t: string | null): void {
  csrfToken = t;
}

/** Whether this page holds a session (a CSRF token from the server). */
export const signedIn = (): boolean => csrfToken !== null;

/** Older dashboards kept a 30-day API token in localStorage: revoke it on the server and forget it. */
export function forgetStoredToken(): void {
  const KEY = 'buildgrid.token';
  const old = localStorage.getItem(KEY);
  if (old === null) return;
  localStorage.removeItem(KEY);
  void fetch('/api/v1/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${old}` } }).catch(() => undefined);
}

/** An API failure: HTTP status (0 when the server could not be reached), the API's error code and its message. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;
/** Called when a request of a signed-in page is refused as unauthorized (the session expired or was revoked). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Headers a request with `method` carries: the client's name, and for unsafe methods the CSRF token. */
export function requestHeaders(method = 'GET'): Record<string, string> {
  const unsafe = !SAFE.has(method.toUpperCase());
  return { 'X-BuildGrid-Client': 'web', ...(unsafe && csrfToken ? { 'X-CSRF-Token': csrfToken } : {}) };
}

const auth: Middleware = {
  onRequest({ request }) {
    for (const [k, v] of Object.entries(requestHeaders(request.method))) request.headers.set(k, v);
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: '' });
api.use(auth);

/** The error for a non-2xx response (body `{ error: { code, message } }`, or anything else). */
export async function errorOf(res: Response, body?: unknown): Promise<ApiError> {
  let b = body;
  if (b === undefined) b = await res.json().catch(() => undefined);
  const e = (b as { error?: { code?: string; message?: string } } | undefined)?.error;
  if (res.status === 401 && signedIn()) onUnauthorized();
  const fallback = res.status >= 500 ? 'The server had a problem; see its log.' : `${res.status} ${res.statusText}`;
  return new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? fallback);
}

/** Awaits an openapi-fetch call: its data, or throws ApiError with the server's message. */
export async function call<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let r: { data?: T; error?: unknown; response: Response };
  try {
    r = await p;
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the BuildGrid server. Check that it is running, then try again.');
  }
  if (r.response.ok) return r.data as T;
  throw await errorOf(r.response, r.error);
}

/** A readable message for anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
