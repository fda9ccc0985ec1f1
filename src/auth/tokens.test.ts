import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { isAppError } from '../core/errors.ts';
import { createFakeMetadata } from './testing/fake-metadata.ts';
import { manualClock } from './testing/fixture.ts';
import { createRegistryTokens, JWK_SETTING } from './tokens.ts';
import type { AccessEntry, Principal } from './types.ts';

const ISSUER = 'http://localhost:5000';
const SERVICE = 'localhost:5000';
const user: Principal = { kind: 'user', id: 'u1', email: 'jane@example.com', isAdmin: false };
const pullToken: Principal = { kind: 'pull-token', id: 'p1', accountId: 'a1', namespace: 'acme', repositories: ['acme/web.api'] };
const job: Principal = { kind: 'job', id: 'j1', repository: 'acme/web.api', pullNamespaces: ['library'] };
const access: AccessEntry[] = [{ type: 'repository', name: 'acme/web.api', actions: ['pull'] }];
const unauthorized = (re?: RegExp) => (e: unknown) => isAppError(e, 'UNAUTHORIZED') && (!re || re.test((e as Error).message));

function setup() {
  const clock = manualClock();
  const metadata = createFakeMetadata({ now: clock.now });
  const tokens = createRegistryTokens({ metadata, issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  return { clock, metadata, tokens };
}

test('issue then verify round-trips principal and access, with the Docker claims', async () => {
  const { tokens, clock } = setup();
  for (const p of [user, pullToken, job]) {
    const issued = await tokens.issue(p, access, SERVICE);
    assert.equal(issued.expiresIn, 300);
    assert.equal(issued.issuedAt, new Date(clock.now()).toISOString());
    assert.deepEqual(await tokens.verify(issued.token, SERVICE), { principal: p, access });
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

test('the signing key is stored once and shared by every node', async () => {
  const clock = manualClock();
  const metadata = createFakeMetadata({ now: clock.now });
  const nodeA = createRegistryTokens({ metadata, issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  const nodeB = createRegistryTokens({ metadata, issuer: ISSUER, ttlSeconds: 300, now: clock.now });
  const [a, b] = await Promise.all([nodeA.issue(user, access, SERVICE), nodeB.issue(job, access, SERVICE)]);
  assert.deepEqual((await nodeB.verify(a.token, SERVICE)).principal, user);
  assert.deepEqual((await nodeA.verify(b.token, SERVICE)).principal, job);
  assert.equal(JSON.parse((await metadata.settings.get(JWK_SETTING))!).kty, 'EC');
});

test('a tampered token or one signed by another key is rejected', async () => {
  const { tokens } = setup();
  const { token } = await tokens.issue(user, access, SERVICE);
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
  const foreign = await other.issue(user, access, SERVICE);
  await assert.rejects(tokens.verify(foreign.token, SERVICE), unauthorized());
});

test('expired tokens are rejected, including ones verified (and cached) earlier', async () => {
  const { tokens, clock } = setup();
  const { token } = await tokens.issue(user, access, SERVICE);
  await tokens.verify(token, SERVICE);
  clock.advance(299_000);
  await tokens.verify(token, SERVICE);
  clock.advance(1000 + 30_000 + 1000); // past exp and the clock tolerance
  await assert.rejects(tokens.verify(token, SERVICE), unauthorized(/expired/));
});

test('a token issued for another service is rejected, cached or not', async () => {
  const { tokens } = setup();
  const { token } = await tokens.issue(user, access, 'other-registry');
  await assert.rejects(tokens.verify(token, SERVICE), unauthorized(/another service/));
  await tokens.verify(token, 'other-registry');
  await assert.rejects(tokens.verify(token, SERVICE), unauthorized(/another service/));
});

test('verification is cached: the second verify does not touch the store or the signature', async () => {
  const { tokens, metadata } = setup();
  const { token } = await tokens.issue(user, access, SERVICE);
  await tokens.verify(token, SERVICE);
  const calls = metadata.callCount('');
  const started = performance.now();
  for (let i = 0; i < 1000; i++) await tokens.verify(token, SERVICE);
  assert.equal(metadata.callCount(''), calls);
  assert.ok(performance.now() - started < 500, '1000 cached verifications are fast');
});
