import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * HMAC signatures over raw bodies, as git hosts send them (`X-Hub-Signature-256: sha256=<hex>`, GitHub's legacy
 * `X-Hub-Signature: sha1=<hex>`, Bitbucket's `X-Hub-Signature: sha256=<hex>`) and as BuildGrid signs its own
 * notifications. Comparisons are constant-time.
 */

export type HmacAlgorithm = 'sha256' | 'sha1';

/** `<algorithm>=<hex HMAC of body under secret>`. */
export function signBody(secret: string, body: Buffer | string, algorithm: HmacAlgorithm = 'sha256'): string {
  return `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`;
}

/**
 * True when `header` is `<algorithm>=<hex>` for one of `allowed` and matches the body's HMAC under `secret`.
 * Anything malformed (no prefix, an unknown algorithm, not hex) is simply false.
 */
export function verifySignature(secret: string, body: Buffer, header: string, allowed: readonly HmacAlgorithm[] = ['sha256']): boolean {
  const m = /^(sha256|sha1)=([0-9a-fA-F]+)$/.exec(header.trim());
  if (!m || !allowed.includes(m[1] as HmacAlgorithm)) return false;
  const expected = createHmac(m[1]!, secret).update(body).digest();
  const given = Buffer.from(m[2]!.toLowerCase(), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
