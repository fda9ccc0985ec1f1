import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { safeEqual } from '../core/ids.ts';
import { isRepositoryName } from '../core/reference.ts';
import type { Principal } from './types.ts';

/**
 * Job tokens: the short-lived registry password a build worker uses to pull its base images and push its one image.
 * Stateless — `bgj_<payload>.<mac>` with an HMAC-SHA256 over the payload under a key derived from the server key — so
 * a worker on another machine can use it against any server node without a database row.
 */
export const JOB_TOKEN_PREFIX = 'bgj_';

const payloadSchema = z.object({
  b: z.string().min(1),
  r: z.string().refine(isRepositoryName),
  n: z.array(z.string()),
  e: z.number().int(),
});

/** Issues and verifies job tokens. */
export interface JobTokens {
  /** A token for build `buildId` that may push `repository` and pull from `pullNamespaces`, valid `ttlSeconds`. */
  issue(input: { buildId: string; repository: string; pullNamespaces: string[]; ttlSeconds: number }): string;
  /** The job principal of a token, or null when it is malformed, forged or expired. */
  verify(token: string): Principal | null;
}

/** Creates job tokens keyed by `secretKey` (the server key; every node of a cluster shares it). */
export function createJobTokens(opts: { secretKey: Uint8Array; now?: () => number }): JobTokens {
  const key = createHmac('sha256', opts.secretKey).update('buildgrid job tokens v1').digest();
  const now = opts.now ?? Date.now;
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  return {
    issue({ buildId, repository, pullNamespaces, ttlSeconds }) {
      if (!isRepositoryName(repository)) throw new AppError('INVALID', `invalid repository ${repository}`);
      const payload = Buffer.from(JSON.stringify({ b: buildId, r: repository, n: pullNamespaces, e: Math.floor(now() / 1000) + ttlSeconds })).toString('base64url');
      return `${JOB_TOKEN_PREFIX}${payload}.${mac(payload)}`;
    },
    verify(token) {
      if (!token.startsWith(JOB_TOKEN_PREFIX)) return null;
      const [payload, sig] = token.slice(JOB_TOKEN_PREFIX.length).split('.');
      if (!payload || !sig || !safeEqual(mac(payload), sig)) return null;
      let parsed: z.infer<typeof payloadSchema>;
      try {
        parsed = payloadSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      } catch {
        return null;
      }
      if (parsed.e * 1000 <= now()) return null;
      return { kind: 'job', id: parsed.b, repository: parsed.r, pullNamespaces: parsed.n };
    },
  };
}
