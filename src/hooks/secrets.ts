import { newSecret } from '../core/ids.ts';
import { decryptSecret, encryptSecret } from '../auth/index.ts';

/**
 * Secrets of hooks and notification endpoints: generated with a readable prefix, stored sealed under the server key
 * (so the owner can read them again: a hook URL must be showable), bound to their row by the AAD.
 */

export const HOOK_SECRET_PREFIX = 'bgh';
export const NOTIFY_SECRET_PREFIX = 'bgn';

export function newHookSecret(): string {
  return newSecret(HOOK_SECRET_PREFIX);
}

export function sealHookSecret(key: Uint8Array, hookId: string, secret: string): string {
  return encryptSecret(key, secret, `hook:${hookId}`);
}

export function openHookSecret(key: Uint8Array, hook: { id: string; secretEnc: string }): string {
  return decryptSecret(key, hook.secretEnc, `hook:${hook.id}`);
}

export function sealEndpointSecret(key: Uint8Array, endpointId: string, secret: string): string {
  return encryptSecret(key, secret, `notify:${endpointId}`);
}

export function openEndpointSecret(key: Uint8Array, endpoint: { id: string; secretEnc: string }): string {
  return decryptSecret(key, endpoint.secretEnc, `notify:${endpoint.id}`);
}
