import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../core/errors.ts';
import { WORKER_TOKEN_PREFIX } from '../auth/index.ts';
import type { ApiDeps } from './context.ts';
import { clearedSessionCookie, CSRF_HEADER, csrfValid, readCookie, sessionCookieName } from './session-cookie.ts';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyRequest {
    /** The secret this request authenticated with and how it came: the API token (bearer or session cookie). */
    credential?: { token: string; via: 'bearer' | 'cookie' };
  }
  interface FastifyContextConfig {
    /** A sign-in route: the session cookie is not read (nor its CSRF token asked for); the Origin check still applies. */
    signIn?: boolean;
  }
}

/** Whether the public URL is https (session cookies are then Secure). */
export const isHttps = (publicUrl: string): boolean => publicUrl.startsWith('https:');

/**
 * Whether a request's Origin may change state: absent (not a browser, or a browser that sends none on a same-origin
 * request; Sec-Fetch-Site then must not say otherwise), the public URL's origin, or the origin the request was sent to
 * (the Host header with the public URL's scheme — a browser always sets Host to the server it talks to, so another
 * site's page cannot produce a matching pair; this admits http://127.0.0.1:5000 when publicUrl says localhost).
 */
export function originAllowed(req: FastifyRequest, publicUrl: string): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) {
    const site = req.headers['sec-fetch-site'];
    return site === undefined || site === 'same-origin' || site === 'none';
  }
  const pub = new URL(publicUrl);
  if (origin === pub.origin) return true;
  const host = req.headers.host;
  return host !== undefined && origin === `${pub.protocol}//${host}`;
}

/**
 * The onRequest hook of every authenticated route: sets `req.principal` (a user) or `req.worker` from
 * `Authorization: Bearer <token>`, or the principal from the dashboard's session cookie.
 *
 * Cross-site request forgery: a bearer token is never sent by a browser on its own, so bearer requests need nothing
 * more. Every other POST/PUT/PATCH/DELETE must come from an allowed Origin (see originAllowed; sign-in included, so no
 * other site can sign a browser into an account of its choosing), and one authenticated by the cookie must carry the
 * session's CSRF token in X-CSRF-Token. Throws UNAUTHORIZED for a bad bearer token and DENIED for a refused origin or
 * a missing/wrong CSRF token. A cookie that no longer works (revoked, expired) is removed and the request is anonymous.
 */
export function authenticateRequest(deps: Pick<ApiDeps, 'people' | 'workers' | 'publicUrl' | 'sessionKey'>) {
  const secure = isHttps(deps.publicUrl);
  const cookieName = sessionCookieName(secure);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const h = req.headers.authorization;
    if (h && /^bearer /i.test(h)) {
      const token = h.slice(7).trim();
      // A worker token is never a user: it reaches /worker/* only (every other route requires a user).
      if (deps.workers && token.startsWith(WORKER_TOKEN_PREFIX)) {
        req.worker = await deps.workers.tokens.authenticate(token);
        return;
      }
      const p = await deps.people.authenticateApiToken(token);
      if (p.kind === 'user') {
        req.principal = p;
        req.credential = { token, via: 'bearer' };
      }
      return;
    }
    const unsafe = UNSAFE.has(req.method);
    if (unsafe && !originAllowed(req, deps.publicUrl)) {
      throw new AppError('DENIED', `cross-site request refused: Origin ${req.headers.origin ?? '(none)'} is not ${new URL(deps.publicUrl).origin}. `
        + 'Use the dashboard at its public URL (publicUrl), or send Authorization: Bearer <token> from other clients.');
    }
    if (req.routeOptions.config?.signIn) return;
    const token = readCookie(req.headers.cookie, cookieName);
    if (!token) return;
    const p = await deps.people.authenticateApiToken(token).catch(() => null);
    if (!p || p.kind !== 'user') {
      void reply.header('set-cookie', clearedSessionCookie(secure));
      return;
    }
    if (unsafe && !csrfValid(deps.sessionKey, token, req.headers[CSRF_HEADER])) {
      throw new AppError('DENIED', 'this request carries the dashboard session cookie but not its CSRF token (X-CSRF-Token): reload the page and try again. '
        + 'Scripts and other clients: send Authorization: Bearer <token> instead of the cookie.');
    }
    req.principal = p;
    req.credential = { token, via: 'cookie' };
  };
}
