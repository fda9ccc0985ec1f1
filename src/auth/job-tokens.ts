import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { safeEqual } from '../core/ids.ts';
import { isRepositoryName } from '../core/reference.ts';
import type { CredentialRef } from './types.ts';

/**
 * Job tokens: the short-lived registry password a build worker uses to pull its base images and push its one image.
 * `bgj_<payload>.<mac>` with an HMAC-SHA256 over the payload under a key derived from the server key, so any server
 * node checks one without a row of its own. The payload names the build, the claim (attempt) it was issued for, the
 * repository, the namespaces it may pull from and the one tag it may push (the commit, when known at issue).
 *
 * The MAC only proves the token was issued; whether it still counts is decided on every use against the build itself
 * (registry-auth.ts: the build must be running under the same attempt), so a token dies with its build, not at `e`.
 */
export const JOB_TOKEN_PREFIX = 'bgj_';

const payloadSchema = z.object({
  b: z.string().min(1),
  a: z.number().int().min(0),
  r: z.string().refine(isRepositoryName),
  n: z.array(z.string()),
  t: z.string().min(1).max(128).nullable(),
  e: z.number().int(),
});

/** What a job token is issued for. */
export interface JobTokenInput {
  buildId: string;
  /** The build's attempt number at the claim the token is issued for (a later claim makes the token stale). */
  attempt: number;
  repository: string;
  pullNamespaces: string[];
  /** The only tag the token may push (the build's commit); null when not known yet (the build's commit is used). */
  tag: string | null;
  ttlSeconds: number;
}

/** Issues and verifies job tokens. */
export interface JobTokens {
  /** A token for `input`. Throws AppError INVALID for a bad repository name. */
  issue(input: JobTokenInput): string;
  /** What a token was issued for, or null when it is malformed, forged or past its lifetime. Does not look at the build. */
  verify(token: string): Extract<CredentialRef, { kind: 'job' }> | null;
}

/** Creates job tokens keyed by `secretKey` (the server key; every node of a cluster shares it). */
export function createJobTokens(opts: { secretKey: Uint8Array; now?: () => number }): JobTokens {
  const key = createHmac('sha256', opts.secretKey).update('buildgrid job tokens v1').digest();
  const now = opts.now ?? Date.now;
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  return {
    issue({ buildId, attempt, repository, pullNamespaces, tag, ttlSeconds }) {
      if (!isRepositoryName(repository)) throw new AppError('INVALID', `invalid repository ${repository}`);
      const body = { b: buildId, a: attempt, r: repository, n: pullNamespaces, t: tag, e: Math.floor(now() / 1000) + ttlSeconds };
      const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
      return `${JOB_TOKEN_PREFIX}${payload}.${mac(payload)}`;
    },
    verify(token) {
      if (!token.startsWith(JOB_TOKEN_PREFIX)) return null;
      const [payload, sig, extra] = token.slice(JOB_TOKEN_PREFIX.length).split('.');
      if (!payload || !sig || extra !== undefined || !safeEqual(mac(payload), sig)) return null;
      let parsed: z.infer<typeof payloadSchema>;
      try {
        parsed = payloadSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      } catch {
        return null;
      }
      if (parsed.e * 1000 <= now()) return null;
      return { kind: 'job', buildId: parsed.b, attempt: parsed.a, repository: parsed.r, pullNamespaces: parsed.n, tag: parsed.t };
    },
  };
}
