import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

/**
 * The dashboard's one way to reach the server: an openapi-fetch client typed by `paths` (generated from
 * /api/v1/openapi.json, see web/scripts/api-types.ts). Every request carries the signed-in user's API token and says
 * it comes from the dashboard (builds it starts are recorded with the trigger "web").
 */

const TOKEN_KEY = 'buildgrid.token';

/** The API token of the signed-in user, kept in localStorage. */
export const tokenStore = {
  get: (): string | null => localStorage.getItem(TOKEN_KEY),
  set: (t: string) => localStorage.setItem(TOKEN_KEY, t),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** An API failure: HTTP status (0 when the server could not be reached), the API's error code and its message. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;
/** Called when a request with a token is refused as unauthorized (expired or revoked token). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/** Headers every request to the server carries. */
export function authHeaders(): Record<string, string> {
  const t = tokenStore.get();
  return { 'X-BuildGrid-Client': 'web', ...(t ? { Authorization: `Bearer ${t}` } : {}) };
}

const auth: Middleware = {
  onRequest({ request }) {
    for (const [k, v] of Object.entries(authHeaders())) request.headers.set(k, v);
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
  if (res.status === 401 && tokenStore.get()) onUnauthorized();
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
