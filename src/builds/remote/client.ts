import { AppError, type ErrorCode } from '../../core/errors.ts';

/** An HTTP client for /api/v1/worker/* with a worker token. */
export interface WorkerClient {
  /**
   * POSTs (or GETs, without `body`) `path` under /api/v1 and resolves to the JSON answer. Network failures and 502,
   * 503, 504 are retried with backoff for up to `retryMs` (a node of the cluster may be restarting; the load
   * balancer sends the retry to another). Other errors throw AppError with the server's code and message.
   */
  call<T>(path: string, body?: unknown, opts?: { retryMs?: number }): Promise<T>;
}

const CODES = new Set<string>(['UNAUTHORIZED', 'DENIED', 'NOT_FOUND', 'INVALID', 'CONFLICT', 'INTERNAL', 'MANIFEST_UNKNOWN', 'TOOMANYREQUESTS']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates the client. `server` is the base URL (one node or the cluster's load balancer). */
export function createWorkerClient(opts: { server: string; token: string; retryMs?: number }): WorkerClient {
  const base = `${opts.server.replace(/\/+$/, '')}/api/v1`;
  return {
    async call<T>(path: string, body?: unknown, o: { retryMs?: number } = {}): Promise<T> {
      const until = Date.now() + (o.retryMs ?? opts.retryMs ?? 60_000);
      let delay = 250;
      for (;;) {
        let res: Response | null = null;
        let failure: unknown = null;
        try {
          res = await fetch(`${base}${path}`, {
            method: body === undefined ? 'GET' : 'POST',
            headers: { Authorization: `Bearer ${opts.token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(60_000),
          });
        } catch (err) {
          failure = err;
        }
        if (res && ![502, 503, 504].includes(res.status)) {
          const text = await res.text();
          const json = text ? JSON.parse(text) as unknown : undefined;
          if (res.ok) return json as T;
          const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
          const code = (e?.code?.toUpperCase() ?? '') as ErrorCode;
          throw new AppError(CODES.has(code) ? code : 'INTERNAL', `server ${opts.server}: ${e?.message ?? `HTTP ${res.status}`}`);
        }
        if (Date.now() + delay > until) {
          throw new AppError('INTERNAL', `cannot reach ${opts.server}${path}: ${res ? `HTTP ${res.status}` : ((failure as Error).cause as Error | undefined)?.message ?? (failure as Error).message}`);
        }
        await sleep(delay);
        delay = Math.min(delay * 2, 5000);
      }
    },
  };
}
