import { calculateJwkThumbprint, errors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import type { Metadata } from '../metadata/types.ts';
import { ExpiringMap } from './cache.ts';
import type { AccessEntry, Principal, RegistryTokens } from './types.ts';

export { grantedAccess, parseScope } from './scope.ts';

/**
 * The registry's bearer tokens: ES256 JWTs as the Docker token spec describes (iss, sub, aud = service, exp, nbf,
 * iat, jti, access), plus a `principal` claim so verification rebuilds the caller without a database hit.
 *
 * The signing key is generated on first use and stored under the `registry.jwk` setting with setIfAbsent, so when
 * several nodes start together they all end up with the one key that won. Verified tokens are cached (bounded)
 * until their exp: a pull verifies the same token for every blob.
 *
 * A token stays valid until it expires (ttlSeconds, 300 s by default): revoking a pull token or rotating a password
 * stops new tokens at once, not ones already issued.
 */

export const JWK_SETTING = 'registry.jwk';
const ALG = 'ES256';

export interface RegistryTokensOptions {
  metadata: Metadata;
  /** The `iss` claim (the server's public URL). */
  issuer: string;
  ttlSeconds: number;
  /** Allowed clock difference between nodes, seconds (default 30). */
  clockToleranceSeconds?: number;
  /** Most verified tokens cached (default 5000). */
  maxCacheEntries?: number;
  now?: () => number;
}

const accessSchema = z.array(
  z.object({ type: z.enum(['repository', 'registry']), name: z.string(), actions: z.array(z.string()) }),
);
const principalSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('user'), id: z.string(), email: z.string(), isAdmin: z.boolean() }),
  z.object({
    kind: z.literal('pull-token'), id: z.string(), accountId: z.string(), namespace: z.string(),
    repositories: z.array(z.string()).nullable(),
  }),
  z.object({ kind: z.literal('job'), id: z.string(), repository: z.string(), pullNamespaces: z.array(z.string()) }),
]);

/** The `sub` claim for a principal: `user:<id>`, `pull-token:<id>` or `job:<id>`. */
export function subjectOf(p: Principal): string {
  return `${p.kind}:${p.id}`;
}

interface Keys { kid: string; privateKey: CryptoKey | Uint8Array; publicKey: CryptoKey | Uint8Array }
interface Verified { principal: Principal; access: AccessEntry[]; audience: string }

async function newPrivateJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(ALG, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg: ALG, use: 'sig' };
}

async function importKeys(stored: string): Promise<Keys> {
  let jwk: JWK;
  try {
    jwk = JSON.parse(stored) as JWK;
  } catch {
    jwk = {};
  }
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || typeof jwk.d !== 'string' || typeof jwk.kid !== 'string') {
    throw new AppError('INTERNAL', `the stored registry signing key (setting ${JWK_SETTING}) is not an ES256 private JWK`);
  }
  const { d: _private, ...publicJwk } = jwk;
  return { kid: jwk.kid, privateKey: await importJWK(jwk, ALG), publicKey: await importJWK(publicJwk, ALG) };
}

const wrongAudience = () =>
  new AppError('UNAUTHORIZED', 'the registry token was issued for another service: request a token for this registry');

function rejected(err: unknown): AppError {
  if (err instanceof errors.JWTExpired) {
    return new AppError('UNAUTHORIZED', 'the registry token has expired: request a new one (log in again if your client does not)');
  }
  if (err instanceof errors.JWTClaimValidationFailed && err.claim === 'aud') return wrongAudience();
  return new AppError('UNAUTHORIZED', 'invalid registry token: request a new one');
}

/** Creates the token issuer/verifier. */
export function createRegistryTokens(opts: RegistryTokensOptions): RegistryTokens {
  const { metadata, issuer, ttlSeconds } = opts;
  const now = opts.now ?? Date.now;
  const tolerance = opts.clockToleranceSeconds ?? 30;
  const verifiedTokens = new ExpiringMap<Verified>({ maxEntries: opts.maxCacheEntries ?? 5000 });
  let keys: Promise<Keys> | undefined;

  const loadKeys = async (): Promise<Keys> => {
    const stored =
      (await metadata.settings.get(JWK_SETTING)) ??
      (await metadata.settings.setIfAbsent(JWK_SETTING, JSON.stringify(await newPrivateJwk())));
    return importKeys(stored);
  };
  const getKeys = (): Promise<Keys> => {
    keys ??= loadKeys().catch((err: unknown) => {
      keys = undefined; // a failed load (database down) is retried on the next call
      throw err;
    });
    return keys;
  };

  return {
    async issue(p, access, service) {
      const k = await getKeys();
      const t = now();
      const iat = Math.floor(t / 1000);
      const token = await new SignJWT({ access, principal: p })
        .setProtectedHeader({ alg: ALG, kid: k.kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject(subjectOf(p))
        .setAudience(service)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + ttlSeconds)
        .setJti(randomId())
        .sign(k.privateKey);
      return { token, expiresIn: ttlSeconds, issuedAt: new Date(iat * 1000).toISOString() };
    },

    async verify(token, service) {
      const t = now();
      const hit = verifiedTokens.get(token, t);
      if (hit) {
        if (hit.audience !== service) throw wrongAudience();
        return { principal: hit.principal, access: hit.access };
      }
      const k = await getKeys();
      let payload;
      try {
        ({ payload } = await jwtVerify(token, k.publicKey, {
          algorithms: [ALG], issuer, audience: service, currentDate: new Date(t), clockTolerance: tolerance,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (err) {
        throw rejected(err);
      }
      const principal = principalSchema.safeParse(payload.principal);
      const access = accessSchema.safeParse(payload.access);
      if (!principal.success || !access.success || payload.sub !== subjectOf(principal.data)) throw rejected(null);
      const result = { principal: principal.data, access: access.data };
      verifiedTokens.set(token, { ...result, audience: service }, payload.exp! * 1000);
      return result;
    },
  };
}
