import { ApiError, errorOf, requestHeaders } from './client';

/**
 * Worker tokens (administrators only): the credentials of remote build workers (`buildgrid worker`). These routes
 * are left out of the OpenAPI document (they are not part of the public API), so their types are written here, after
 * src/metadata/workers-types.ts and src/api/routes/workers.ts, and the calls go through fetch with the same headers
 * and error handling as the typed client.
 */

/** A worker token as the server lists it (never its secret). */
export interface WorkerToken {
  id: string; name: string; createdBy: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null;
}

/** What creating a token answers: the secret (`bgw_…`, shown this once) and the stored token. */
export interface CreatedWorkerToken { token: string; workerToken: WorkerToken }

const BASE = '/api/v1/admin/worker-tokens';

async function send<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { ...requestHeaders(method), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the BuildGrid server. Check that it is running, then try again.');
  }
  if (!res.ok) throw await errorOf(res);
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/** Every worker token, revoked ones included, oldest first. Throws ApiError 403 for a non-administrator. */
export const listWorkerTokens = (): Promise<WorkerToken[]> => send('GET', BASE);

/** Creates a token named `name`; throws ApiError 400 for an empty or over-long name. */
export const createWorkerToken = (name: string): Promise<CreatedWorkerToken> => send('POST', BASE, { name });

/** Revokes a token: its workers' next request is refused. Throws ApiError 404 when unknown or already revoked. */
export const revokeWorkerToken = async (id: string): Promise<void> => {
  await send('DELETE', `${BASE}/${encodeURIComponent(id)}`);
};
