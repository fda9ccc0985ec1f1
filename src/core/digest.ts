import { createHash } from 'node:crypto';
import { AppError } from './errors.ts';

/** A content digest such as `sha256:<64 hex>`. Only sha256 and sha512 are accepted. */
export type Digest = `${'sha256' | 'sha512'}:${string}`;

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** True when `s` is a well-formed sha256/sha512 digest. */
export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** Returns `s` as a Digest. Throws AppError DIGEST_INVALID when it is malformed or uses an unsupported algorithm. */
export function parseDigest(s: string): Digest {
  if (!isDigest(s)) {
    throw new AppError('DIGEST_INVALID', `invalid digest "${truncate(s)}": expected sha256:<64 lowercase hex>`);
  }
  return s;
}

/** Splits a valid digest into algorithm and hex. */
export function digestParts(d: Digest): { algorithm: 'sha256' | 'sha512'; hex: string } {
  const i = d.indexOf(':');
  return { algorithm: d.slice(0, i) as 'sha256' | 'sha512', hex: d.slice(i + 1) };
}

/** The sha256 digest of `data`. */
export function sha256Of(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Digest of `data` using the algorithm of `like` (used to verify a claimed digest). */
export function digestOfLike(like: Digest, data: Buffer): Digest {
  const { algorithm } = digestParts(like);
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
