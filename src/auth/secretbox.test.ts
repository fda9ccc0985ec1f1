import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isAppError } from '../core/errors.ts';
import { decryptSecret, encryptSecret, generateSecretKey, parseSecretKey } from './secretbox.ts';

const key = randomBytes(32);

test('encrypt then decrypt returns the plaintext; ciphertexts differ each time', () => {
  const a = encryptSecret(key, 'bgr_secret-value');
  const b = encryptSecret(key, 'bgr_secret-value');
  assert.notEqual(a, b);
  assert.ok(!a.includes('bgr_secret'));
  assert.equal(decryptSecret(key, a), 'bgr_secret-value');
  assert.equal(decryptSecret(key, encryptSecret(key, '')), '');
});

test('tampering, another key or another aad fail with INTERNAL', () => {
  const sealed = encryptSecret(key, 'hello', 'registry:jane-7f3k');
  assert.equal(decryptSecret(key, sealed, 'registry:jane-7f3k'), 'hello');
  const parts = sealed.split('.');
  const flipped = Buffer.from(parts[2]!, 'base64url');
  flipped[0]! ^= 1;
  const tampered = [parts[0], parts[1], flipped.toString('base64url'), parts[3]].join('.');
  for (const attempt of [
    () => decryptSecret(key, tampered, 'registry:jane-7f3k'),
    () => decryptSecret(randomBytes(32), sealed, 'registry:jane-7f3k'),
    () => decryptSecret(key, sealed, 'registry:john-0000'),
    () => decryptSecret(key, 'v1.garbage', ''),
    () => decryptSecret(key, 'v2.a.b.c', ''),
  ]) {
    assert.throws(attempt, (e) => isAppError(e, 'INTERNAL'));
  }
});

test('keys must be 32 bytes; parseSecretKey accepts base64, base64url and hex', () => {
  assert.throws(() => encryptSecret(randomBytes(16), 'x'), (e) => isAppError(e, 'INVALID'));
  const raw = randomBytes(32);
  assert.deepEqual(parseSecretKey(raw.toString('base64')), raw);
  assert.deepEqual(parseSecretKey(raw.toString('base64url')), raw);
  assert.deepEqual(parseSecretKey(raw.toString('hex')), raw);
  assert.equal(parseSecretKey(generateSecretKey()).length, 32);
  assert.throws(() => parseSecretKey('too-short'), (e) => isAppError(e, 'INVALID'));
});
