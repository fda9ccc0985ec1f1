import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError } from '../core/errors.ts';

/**
 * AES-256-GCM for small secrets we must be able to show again (a user's registry password), under the server's
 * 32-byte secret key. Sealed form: `v1.<iv>.<ciphertext>.<tag>` (base64url). An optional `aad` binds the sealed value
 * to its owner (e.g. the user id), so a sealed value copied into another row does not open.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const KEY_BYTES = 32;

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) {
    throw new AppError('INVALID', `the server secret key must be ${KEY_BYTES} bytes, got ${key.length}`);
  }
}

/** Parses a 32-byte key written as base64, base64url or hex. Throws AppError INVALID otherwise. */
export function parseSecretKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new AppError('INVALID', `the server secret key must be ${KEY_BYTES} bytes as base64 or hex (generate one with \`openssl rand -base64 32\`)`);
  }
  return key;
}

/** A new random 32-byte key, base64url. */
export function generateSecretKey(): string {
  return randomBytes(KEY_BYTES).toString('base64url');
}

/** Encrypts `plaintext` under `key`. Throws AppError INVALID when the key is not 32 bytes. */
export function encryptSecret(key: Uint8Array, plaintext: string, aad = ''): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

/**
 * Decrypts a value made by `encryptSecret` with the same key and aad. Throws AppError INTERNAL when it is malformed or does not
 * authenticate (tampered, another key, another aad).
 */
export function decryptSecret(key: Uint8Array, sealed: string, aad = ''): string {
  checkKey(key);
  const parts = sealed.split('.');
  const fail = () =>
    new AppError('INTERNAL', 'a stored secret cannot be decrypted: the server secret key may have changed; rotate the credential to get a new one');
  if (parts.length !== 4 || parts[0] !== VERSION) throw fail();
  const iv = Buffer.from(parts[1]!, 'base64url');
  const ct = Buffer.from(parts[2]!, 'base64url');
  const tag = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== 16) throw fail();
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
  } catch {
    throw fail();
  }
}
