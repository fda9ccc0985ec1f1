import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../core/errors.ts';
import type { AccessEntry } from '../auth/types.ts';
import { parseBasic, sourceOf, type GateDeps } from './gate.ts';
import { sendJson, readBody } from './context.ts';

/** Grants the intersection of requested and permitted access (implemented in auth/). */
export type GrantFn = (principal: import('../auth/types.ts').Principal, requested: AccessEntry[]) => Promise<AccessEntry[]>;
/** Parses Docker `scope` parameters (implemented in auth/). Throws AppError INVALID. */
export type ScopeParser = (scope: string) => AccessEntry[];

/**
 * The Docker token endpoint (GET /v2/token?service=&scope=…, and the OAuth2 password grant on POST). Takes Basic
 * credentials and issues a short-lived JWT granting only what the caller may do of what it asked for. Anonymous
 * requests get 401: BuildGrid has no public repositories.
 */
export async function tokenEndpoint(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: GateDeps & { grant: GrantFn; parseScope: ScopeParser },
): Promise<number> {
  let creds = parseBasic(req.headers.authorization);
  let params = url.searchParams;
  if (req.method === 'POST') {
    const body = await readBody(req, 64 * 1024);
    if (!body) throw new AppError('INVALID', 'token request body too large');
    params = new URLSearchParams(body.toString('utf8'));
    if (params.get('grant_type') === 'password') {
      creds = { username: params.get('username') ?? '', password: params.get('password') ?? '' };
    } else {
      throw new AppError('UNSUPPORTED', 'only the password grant is supported; or use GET with Basic credentials');
    }
  }
  if (!creds) {
    throw new AppError('UNAUTHORIZED', 'authentication required: docker login with your BuildGrid credentials (`buildgrid credentials show`)');
  }
  const { principal, credential } = await deps.authenticator.authenticate(creds.username, creds.password, sourceOf(req, deps));
  const service = params.get('service') ?? deps.service;
  if (service !== deps.service) throw new AppError('INVALID', `unknown service "${service.slice(0, 80)}"; expected "${deps.service}"`);
  const requested: AccessEntry[] = [];
  for (const s of params.getAll('scope')) for (const part of s.split(' ')) if (part) requested.push(...deps.parseScope(part));
  const access = await deps.grant(principal, requested);
  const t = await deps.tokens.issue(principal, access, service, credential);
  return sendJson(res, 200, { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt });
}
