import type { Service } from '../metadata/types.ts';
import { decryptSecret } from '../auth/index.ts';
import type { GitSource } from './types.ts';
import { cacheKeyFor } from './git/urls.ts';

/** The service's git source with its secret decrypted (call just before use; never log the result). */
export function sourceFor(service: Service, secretKey: Uint8Array): GitSource {
  const a = service.gitAuth;
  const auth: GitSource['auth'] =
    a.kind === 'token' ? { kind: 'token', username: a.username, token: decryptSecret(secretKey, a.tokenEnc, service.repository) }
      : a.kind === 'ssh' ? { kind: 'ssh', privateKey: decryptSecret(secretKey, a.privateKeyEnc, service.repository) }
        : { kind: 'none' };
  return { url: service.gitUrl, auth, cacheKey: cacheKeyFor(service.gitUrl) };
}
