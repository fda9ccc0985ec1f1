import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, SignJWT, UnsecuredJWT } from 'jose';
import { isAppError } from '../core/errors.ts';
import { createFakeMetadata } from './testing/fake-metadata.ts';
import { manualClock } from './testing/fixture.ts';
import { decryptSecret } from './secretbox.ts';
import { createRegistryTokens, JWK_SETTING, SEALED_JWK_SETTING } from './tokens.ts';
import type { AccessEntry, CredentialRef, Principal } from './types.ts';

const ISSUER = 'http://localhost:5000';
const SERVICE = 'localhost:5000';
const user: Principal = { kind: 'user', id: 'u1', email: 'jane@example.com', isAdmin: false };
const pullToken: Principal = { kind: 'pull-token', id: 'p1', accountId: 'a1', namespace: 'acme', repositories: ['acme/web.api'] };
const job: Principal = { kind: 'job', id: 'j1', repository: 'acme/web.api', pullNamespaces: ['library'], tag: null };
const cred: CredentialRef = { kind: 'pull-token', id: 'p1' };
const access: AccessEntry[] = [{ type: 'repository', name: 'acme/web.api', actions: ['pull'] }];
const unauthorized = (re?: RegExp) => (e: unknown) => isAppError(e, 'UNAUTHORIZED') && (!re || re.test((e as Error).message));

function setup() {
  const clock = manualClock();
  const metadata = createFakeMetadata({ now: clock.now });
  const secretKey = randomBytes(32);
  const tokens = createRegistryTokens({ metadata, secretKey, issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  return { clock, metadata, tokens, secretKey };
}

/** The public and private JWK the store holds (as an attacker with the database and the server key would read them). */
async function storedKey(metadata: ReturnType<typeof createFakeMetadata>, secretKey: Uint8Array) {
  const jwk = JSON.parse(decryptSecret(secretKey, (await metadata.settings.get(SEALED_JWK_SETTING))!, 'registry signing key'));
  const { d: _d, ...pub } = jwk;
  return { jwk, pub };
}

test('issue then verify round-trips principal and access, with the Docker claims', async () => {
  const { tokens, clock } = setup();
  for (const p of [user, pullToken, job]) {
    const issued = await tokens.issue(p, access, SERVICE, cred);
    assert.equal(issued.expiresIn, 300);
    assert.equal(issued.issuedAt, new Date(clock.now()).toISOString());
    assert.deepEqual(await tokens.verify(issued.token, SERVICE), { principal: p, access, credential: cred });
    const claims = decodeJwt(issued.token);
    assert.equal(claims.iss, ISSUER);
    assert.equal(claims.sub, `${p.kind}:${p.id}`);
    assert.equal(claims.aud, SERVICE);
    assert.equal(claims.exp, clock.now() / 1000 + 300);
    assert.equal(claims.nbf, claims.iat);
    assert.equal(typeof claims.jti, 'string');
    assert.deepEqual(claims.access, access);
    const header = decodeProtectedHeader(issued.token);
    assert.equal(header.alg, 'ES256');
    assert.equal(typeof header.kid, 'string');
  }
});

test('the signing key is stored once, sealed, and shared by every node', async () => {
  const clock = manualClock();
  const metadata = createFakeMetadata({ now: clock.now });
  const secretKey = randomBytes(32);
  const nodeA = createRegistryTokens({ metadata, secretKey, issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  const nodeB = createRegistryTokens({ metadata, secretKey, issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  const [a, b] = await Promise.all([nodeA.issue(user, access, SERVICE, cred), nodeB.issue(job, access, SERVICE, cred)]);
  assert.deepEqual((await nodeB.verify(a.token, SERVICE)).principal, user);
  assert.deepEqual((await nodeA.verify(b.token, SERVICE)).principal, job);
  const stored = (await metadata.settings.get(SEALED_JWK_SETTING))!;
  assert.match(stored, /^v1\./);
  const { jwk } = await storedKey(metadata, secretKey);
  assert.equal(jwk.kty, 'EC');
  assert.ok(!stored.includes(jwk.d), 'the private key is not in the stored value');
  assert.equal(await metadata.settings.get(JWK_SETTING), null);
  const otherKey = createRegistryTokens({ metadata, secretKey: randomBytes(32), issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  await assert.rejects(otherKey.issue(user, access, SERVICE, cred), /server secret key/, 'a server with another key cannot use it');
});

test('a plain key left by an older version is sealed on first use and keeps its tokens valid', async () => {
  const { metadata, secretKey, clock } = setup();
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const raw = await exportJWK(privateKey);
  const legacy = { ...raw, kid: await calculateJwkThumbprint(raw), alg: 'ES256', use: 'sig' };
  await metadata.settings.setIfAbsent(JWK_SETTING, JSON.stringify(legacy));
  const tokens = createRegistryTokens({ metadata, secretKey, issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  const { token } = await tokens.issue(user, access, SERVICE, cred);
  assert.equal(decodeProtectedHeader(token).kid, legacy.kid);
  assert.equal(await metadata.settings.get(JWK_SETTING), null, 'the plain copy is deleted');
  assert.ok(!(await metadata.settings.get(SEALED_JWK_SETTING))!.includes(legacy.d!));
  const restarted = createRegistryTokens({ metadata, secretKey, issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  assert.deepEqual((await restarted.verify(token, SERVICE)).principal, user);
});

test('alg none, HS256 keyed with the public key, and a wrong audience are refused', async () => {
  const { tokens, metadata, secretKey, clock } = setup();
  const { token } = await tokens.issue(user, access, SERVICE, cred);
  const claims = { ...decodeJwt(token), principal: { ...user, isAdmin: true } };
  const none = new UnsecuredJWT(claims).encode();
  await assert.rejects(tokens.verify(none, SERVICE), unauthorized());
  const [, body] = token.split('.');
  await assert.rejects(tokens.verify(`${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${body}.`, SERVICE), unauthorized());

  const { jwk, pub } = await storedKey(metadata, secretKey);
  // The classic confusion: the public key's bytes used as an HMAC secret.
  for (const secret of [Buffer.from(JSON.stringify(pub)), Buffer.from(`${pub.x}${pub.y}`), Buffer.concat([Buffer.from([4]), Buffer.from(pub.x, 'base64url'), Buffer.from(pub.y, 'base64url')])]) {
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: jwk.kid, typ: 'JWT' }).sign(secret);
    await assert.rejects(tokens.verify(hs, SERVICE), unauthorized());
  }
  // Properly signed with the real key, but for another audience (or none at all).
  const key = await importJWK(jwk, 'ES256');
  const iat = Math.floor(clock.now() / 1000);
  const signed = (aud: string | null) => {
    const j = new SignJWT({ access, principal: user, cred }).setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
      .setIssuer(ISSUER).setSubject('user:u1').setIssuedAt(iat).setExpirationTime(iat + 60);
    return (aud === null ? j : j.setAudience(aud)).sign(key);
  };
  assert.deepEqual((await tokens.verify(await signed(SERVICE), SERVICE)).principal, user, 'the control token is accepted');
  await assert.rejects(tokens.verify(await signed('evil.example.com'), SERVICE), unauthorized(/another service/));
  await assert.rejects(tokens.verify(await signed(null), SERVICE), unauthorized());
});

test('a token without the credential it came from is refused', async () => {
  const { tokens, metadata, secretKey, clock } = setup();
  await tokens.issue(user, access, SERVICE, cred);
  const { jwk } = await storedKey(metadata, secretKey);
  const iat = Math.floor(clock.now() / 1000);
  const old = await new SignJWT({ access, principal: user }).setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
    .setIssuer(ISSUER).setSubject('user:u1').setAudience(SERVICE).setIssuedAt(iat).setExpirationTime(iat + 60).sign(await importJWK(jwk, 'ES256'));
  await assert.rejects(tokens.verify(old, SERVICE), unauthorized(/request a new one/));
});

test('a tampered token or one signed by another key is rejected', async () => {
  const { tokens } = setup();
  const { token } = await tokens.issue(user, access, SERVICE, cred);
  const [h, payload, sig] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  claims.principal.isAdmin = true;
  const forged = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), sig].join('.');
  await assert.rejects(tokens.verify(forged, SERVICE), unauthorized());
  const sigBytes = Buffer.from(sig, 'base64url');
  sigBytes[5]! ^= 1;
  await assert.rejects(tokens.verify([h, payload, sigBytes.toString('base64url')].join('.'), SERVICE), unauthorized());
  await assert.rejects(tokens.verify('not.a.jwt', SERVICE), unauthorized());
  await assert.rejects(tokens.verify('', SERVICE), unauthorized());

  const other = setup().tokens; // another server with its own key
  const foreign = await other.issue(user, access, SERVICE, cred);
  await assert.rejects(tokens.verify(foreign.token, SERVICE), unauthorized());
});

test('expired tokens are rejected, including ones verified (and cached) earlier', async () => {
  const { tokens, clock } = setup();
  const { token } = await tokens.issue(user, access, SERVICE, cred);
  await tokens.verify(token, SERVICE);
  clock.advance(299_000);
  await tokens.verify(token, SERVICE);
  clock.advance(1000 + 30_000 + 1000); // past exp and the clock tolerance
  await assert.rejects(tokens.verify(token, SERVICE), unauthorized(/expired/));
});

test('a token issued for another service is rejected, cached or not', async () => {
  const { tokens } = setup();
  const { token } = await tokens.issue(user, access, 'other-registry', cred);
  await assert.rejects(tokens.verify(token, SERVICE), unauthorized(/another service/));
  await tokens.verify(token, 'other-registry');
  await assert.rejects(tokens.verify(token, SERVICE), unauthorized(/another service/));
});

test('verification is cached: the second verify does not touch the store or the signature', async () => {
  const { tokens, metadata } = setup();
  const { token } = await tokens.issue(user, access, SERVICE, cred);
  await tokens.verify(token, SERVICE);
  const calls = metadata.callCount('');
  const started = performance.now();
  for (let i = 0; i < 1000; i++) await tokens.verify(token, SERVICE);
  assert.equal(metadata.callCount(''), calls);
  assert.ok(performance.now() - started < 500, '1000 cached verifications are fast');
});
