import { hashSecret, newSecret } from '../core/ids.ts';
import type { ApiToken, Metadata, User } from '../metadata/types.ts';
import type { Principal } from './types.ts';

/**
 * API tokens (`bga_…`) for people: what `buildgrid login` and the dashboard hold. Only the SHA-256 of a token is
 * stored; the token itself is returned once, at issue.
 */

export const API_TOKEN_PREFIX = 'bga_';

/** The user principal for a user row. */
export function userPrincipal(u: User): Principal {
  return { kind: 'user', id: u.id, email: u.email, isAdmin: u.isAdmin };
}

/** Issues a token for `userId`; resolves to the token (shown once) and its record. */
export async function issueApiToken(
  metadata: Metadata,
  input: { userId: string; name: string; expiresAt: string | null },
): Promise<{ token: string; apiToken: ApiToken }> {
  const token = newSecret('bga');
  const apiToken = await metadata.apiTokens.create({ ...input, tokenHash: hashSecret(token) });
  return { token, apiToken };
}

/** The live token and its user for `token`, or null (wrong prefix, unknown, expired, revoked, or user gone). */
export async function findApiToken(
  metadata: Metadata,
  token: string,
): Promise<{ apiToken: ApiToken; principal: Principal } | null> {
  if (!token.startsWith(API_TOKEN_PREFIX)) return null;
  const apiToken = await metadata.apiTokens.findByHash(hashSecret(token));
  if (!apiToken) return null;
  const user = await metadata.users.get(apiToken.userId);
  return user ? { apiToken, principal: userPrincipal(user) } : null;
}
