import { calculateJwkThumbprint, errors, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import { z } from 'zod';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import type { Metadata } from '../metadata/types.ts';
import { ExpiringMap } from './cache.ts';
import { decryptSecret, encryptSecret } from './secretbox.ts';
import type { AccessEntry, CredentialRef, Principal, RegistryTokens } from './types.ts';

export { grantedAccess, parseScope } from './scope.ts';

/**
 * The registry's bearer tokens: ES256 JWTs as the Docker token spec describes (iss, sub, aud = service, exp, nbf,
 * iat, jti, access), plus a `principal` claim and a `cred` claim naming the credential the token was obtained with
 * (never its secret). A token proves only what was true when it was issued: the registry rechecks `cred` on every
 * request (registry-auth.ts), so a revoked, expired or rotated credential, a user removed from an account or a build
 * that ended stops its tokens at the next request, not when they expire. Verified signatures are cached (bounded)
 * until exp: a pull verifies the same token for every blob.
 *
 * The signing key is generated on first use and stored under the `registry.jwk.sealed` setting, sealed with the server
 * key (secretbox.ts; `secret.key`, which every node of a cluster shares), so a copy of the database alone cannot mint
 * tokens. setIfAbsent makes several nodes starting together agree on one key. A key left in plain text by an older
 * version (`registry.jwk`) is sealed under the new name and the plain copy deleted, on first use; tokens it signed stay
 * valid.
 */

export const JWK_SETTING = 'registry.jwk';
export const SEALED_JWK_SETTING = 'registry.jwk.sealed';
const SEAL_AAD = 'registry signing key';
const ALG = 'ES256';

export interface RegistryTokensOptions {
  metadata: Metadata;
  /** The server's 32-byte key, which seals the signing key in the database. */
  secretKey: Uint8Array;
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
  z.object({
    kind: z.literal('job'), id: z.string(), repository: z.string(), pullNamespaces: z.array(z.string()), tag: z.string().nullable(),
  }),
]);
const credentialSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('registry-password'), userId: z.string(), fingerprint: z.string() }),
  z.object({ kind: z.literal('api-token'), id: z.string() }),
  z.object({ kind: z.literal('pull-token'), id: z.string() }),
  z.object({
    kind: z.literal('job'), buildId: z.string(), attempt: z.number().int(), repository: z.string(),
    pullNamespaces: z.array(z.string()), tag: z.string().nullable(),
  }),
]);

/** The `sub` claim for a principal: `user:<id>`, `pull-token:<id>` or `job:<id>`. */
export function subjectOf(p: Principal): string {
  return `${p.kind}:${p.id}`;
}

interface Keys { kid: string; privateKey: CryptoKey | Uint8Array; publicKey: CryptoKey | Uint8Array }
interface Verified { principal: Principal; access: AccessEntry[]; credential: CredentialRef; audience: string }

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

  const seal = (jwk: string) => encryptSecret(opts.secretKey, jwk, SEAL_AAD);
  const loadKeys = async (): Promise<Keys> => {
    let sealed = await metadata.settings.get(SEALED_JWK_SETTING);
    const plain = await metadata.settings.get(JWK_SETTING);
    sealed ??= await metadata.settings.setIfAbsent(SEALED_JWK_SETTING, seal(plain ?? JSON.stringify(await newPrivateJwk())));
    const keys = await importKeys(decryptSecret(opts.secretKey, sealed, SEAL_AAD));
    // Only once the sealed copy is known to open with our key is the plain one removed.
    if (plain !== null) await metadata.settings.delete(JWK_SETTING);
    return keys;
  };
  const getKeys = (): Promise<Keys> => {
    keys ??= loadKeys().catch((err: unknown) => {
      keys = undefined; // a failed load (database down) is retried on the next call
      throw err;
    });
    return keys;
  };

  return {
    async issue(p, access, service, credential) {
      const k = await getKeys();
      const t = now();
      const iat = Math.floor(t / 1000);
      const token = await new SignJWT({ access, principal: p, cred: credential })
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
        return { principal: hit.principal, access: hit.access, credential: hit.credential };
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
      const credential = credentialSchema.safeParse(payload.cred);
      if (!principal.success || !access.success || !credential.success || payload.sub !== subjectOf(principal.data)) throw rejected(null);
      const result = { principal: principal.data, access: access.data, credential: credential.data };
      verifiedTokens.set(token, { ...result, audience: service }, payload.exp! * 1000);
      return result;
    },
  };
}
