import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';

/**
 * A random URL-safe identifier (about 128 bits by default). It never starts with `-` or `_`, so it can be passed to
 * command-line tools as an argument without being taken for an option.
 */
export function randomId(bytes = 16): string {
  const id = randomBytes(bytes).toString('base64url');
  return /^[A-Za-z0-9]/.test(id) ? id : `i${id.slice(1)}`;
}

/** A random secret with a readable prefix, e.g. `bgr_…` (256 bits). */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 hex of a high-entropy secret, for storage and lookup (never store the secret itself). */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}
