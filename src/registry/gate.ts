import type { IncomingMessage } from 'node:http';
import { AppError } from '../core/errors.ts';
import type { AccessEntry, AccessRules, Action, Principal, RegistryAuthenticator, RegistryTokens } from '../auth/types.ts';

/** What the gate needs. `realm` is the token endpoint URL; `service` the token audience. */
export interface GateDeps {
  authenticator: RegistryAuthenticator;
  rules: AccessRules;
  tokens: RegistryTokens;
  realm: string;
  service: string;
  /** The client's address behind trusted proxies (core/client-address.ts); default: the socket's peer. */
  clientAddress?: (req: IncomingMessage) => string;
}

/** Actions a request needs on one repository, as a challenge names them. */
export interface ScopeNeed { name: string; actions: Action[] }

/** An authenticated /v2 caller. Bearer callers carry the access granted in their token. */
export interface Caller {
  /** Who it is now (for a bearer token: rechecked against the credential it came from). */
  principal: Principal;
  via: 'basic' | 'bearer';
  access?: AccessEntry[];
}

/** The client's address, for per-source login throttling. */
export function sourceOf(req: IncomingMessage, deps: Pick<GateDeps, 'clientAddress'>): string {
  return deps.clientAddress?.(req) ?? req.socket.remoteAddress ?? 'unknown';
}

/** Decodes `Authorization: Basic …`; null when absent or not Basic. Throws UNAUTHORIZED when malformed. */
export function parseBasic(header: string | undefined): { username: string; password: string } | null {
  if (!header || !/^basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) throw new AppError('UNAUTHORIZED', 'malformed Basic credentials: expected base64(username:password)');
  return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/**
 * Authenticates a request by Basic credentials or a bearer token. Resolves to null for anonymous requests.
 * A bearer token's credential is checked again on every request (revoked, expired, rotated, build ended), and the
 * principal it yields now — not the one written in the token — is the caller.
 * Throws AppError UNAUTHORIZED (bad credentials / token) or TOOMANYREQUESTS (throttled source).
 */
export async function authenticate(req: IncomingMessage, deps: GateDeps): Promise<Caller | null> {
  const header = req.headers.authorization;
  if (!header) return null;
  if (/^bearer /i.test(header)) {
    const { principal: issuedTo, access, credential } = await deps.tokens.verify(header.slice(7).trim(), deps.service);
    const principal = await deps.authenticator.recheck(credential);
    if (!principal || principal.kind !== issuedTo.kind || principal.id !== issuedTo.id) {
      throw new AppError('UNAUTHORIZED', 'the credential this registry token was issued for has been revoked, has expired or was rotated (or its build ended): log in again');
    }
    return { principal, via: 'bearer', access };
  }
  const basic = parseBasic(header);
  if (!basic) throw new AppError('UNAUTHORIZED', 'unsupported Authorization scheme: use Basic credentials or a bearer token');
  const { principal } = await deps.authenticator.authenticate(basic.username, basic.password, sourceOf(req, deps));
  return { principal, via: 'basic' };
}

/**
 * The actions `caller` may perform on repository `name`: what the rules allow its principal now, and for a bearer
 * caller only as much of that as its token was granted.
 */
export async function allowedActions(caller: Caller, name: string, deps: GateDeps): Promise<Set<Action>> {
  const allowed = await deps.rules.actionsFor(caller.principal, name);
  if (caller.via === 'basic') return allowed;
  const out = new Set<Action>();
  for (const a of caller.access ?? []) {
    if (a.type === 'repository' && a.name === name) for (const x of a.actions) if (allowed.has(x as Action)) out.add(x as Action);
  }
  return out;
}

/** True when a bearer caller's token grants the catalog (Basic callers always may list what they can pull). */
export function mayListCatalog(caller: Caller): boolean {
  return caller.via === 'basic' || (caller.access ?? []).some((a) => a.type === 'registry' && a.name === 'catalog');
}

/**
 * The `WWW-Authenticate` challenge for a request needing `actions` on `name` (or no scope); several scopes share one
 * space-separated `scope` parameter, as distribution writes them. Names must already be valid repository names.
 */
export function challenge(deps: GateDeps, scope?: ScopeNeed | ScopeNeed[], error?: 'insufficient_scope' | 'invalid_token'): string {
  let h = `Bearer realm="${deps.realm}",service="${deps.service}"`;
  const scopes = scope === undefined ? [] : Array.isArray(scope) ? scope : [scope];
  if (scopes.length > 0) h += `,scope="${scopes.map((x) => `repository:${x.name}:${x.actions.join(',')}`).join(' ')}"`;
  if (error) h += `,error="${error}"`;
  return h;
}
