import { AppError } from '../core/errors.ts';
import { hashSecret, newSecret } from '../core/ids.ts';
import type { Metadata, WorkerToken } from '../metadata/types.ts';

/**
 * Worker tokens (`bgw_…`): what a `buildgrid worker` on a build host presents. Administrators create and revoke
 * them. A worker principal is deliberately not a `Principal` of the registry or the user API: it can only call
 * /api/v1/worker/* (claim builds, report on the builds it claimed), and the registry refuses the token outright
 * (it pushes with the job token each claimed build comes with). Only the SHA-256 is stored.
 */
export const WORKER_TOKEN_PREFIX = 'bgw_';

/** The authenticated worker behind a request. */
export interface WorkerPrincipal { kind: 'worker'; tokenId: string; name: string }

/** Issues, verifies, lists and revokes worker tokens. */
export interface WorkerTokens {
  /** A new token named `name` (the secret is returned once). Throws INVALID for an empty or over-long name. */
  create(name: string, createdBy: string): Promise<{ token: string; workerToken: WorkerToken }>;
  /** The worker of a live token. Throws UNAUTHORIZED for an unknown, malformed or revoked token. */
  authenticate(token: string): Promise<WorkerPrincipal>;
  list(): Promise<WorkerToken[]>;
  /** Revokes token `id` (its workers' next request is refused). Throws NOT_FOUND when unknown or already revoked. */
  revoke(id: string): Promise<void>;
}

const TOUCH_EVERY_MS = 60_000;

/** Creates the worker-token service over the metadata store. */
export function createWorkerTokens(opts: { metadata: Metadata; now?: () => number }): WorkerTokens {
  const { metadata } = opts;
  const now = opts.now ?? Date.now;
  const touched = new Map<string, number>();
  return {
    async create(name, createdBy) {
      const n = name.trim();
      if (!n || n.length > 100) throw new AppError('INVALID', 'a worker token needs a name of 1 to 100 characters');
      const token = newSecret('bgw');
      return { token, workerToken: await metadata.workerTokens.create({ name: n, tokenHash: hashSecret(token), createdBy }) };
    },
    async authenticate(token) {
      const t = token.startsWith(WORKER_TOKEN_PREFIX) ? await metadata.workerTokens.findByHash(hashSecret(token)) : null;
      if (!t) throw new AppError('UNAUTHORIZED', 'invalid or revoked worker token: ask an administrator for one (`buildgrid workers tokens create NAME`)');
      if ((touched.get(t.id) ?? 0) < now() - TOUCH_EVERY_MS) {
        touched.set(t.id, now());
        void metadata.workerTokens.touch(t.id).catch(() => undefined);
      }
      return { kind: 'worker', tokenId: t.id, name: t.name };
    },
    list: () => metadata.workerTokens.list(),
    async revoke(id) {
      if (!(await metadata.workerTokens.revoke(id))) throw new AppError('NOT_FOUND', `no live worker token ${id}`);
    },
  };
}
