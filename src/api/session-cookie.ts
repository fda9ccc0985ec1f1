import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The dashboard's session cookie and the CSRF token bound to it.
 *
 * The cookie holds the API token the sign-in issued (`bga_…`, revoked by sign-out like the CLI's), so there is one kind
 * of session on the server, looked up and revoked the same way. It is HttpOnly (no script, hence no injected script,
 * can read it), SameSite=Strict (a page of another site never makes the browser send it: every request that needs it
 * is a fetch of the dashboard's own page, so deep links from mail or chat still work — only the HTML shell, which needs
 * no session, is loaded without it) and, when the public URL is https, Secure with the `__Host-` prefix (no subdomain
 * can set or shadow it).
 *
 * The CSRF token is HMAC-SHA256(server key, session token): nothing to store, different for every session, and useless
 * without the session (a leaked CSRF token reveals nothing about the session token). The page reads it from
 * GET /api/v1/auth/session and sends it as X-CSRF-Token with every POST/PUT/PATCH/DELETE.
 */

/** The header unsafe cookie-authenticated requests must carry. */
export const CSRF_HEADER = 'x-csrf-token';

/** The cookie's name: `__Host-buildgrid_session` behind https, `buildgrid_session` on plain http (where `__Host-` is refused). */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-buildgrid_session' : 'buildgrid_session';
}

/** The value of cookie `name` in a Cookie header, or undefined. A name sent twice (cookie tossing) counts as absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let found: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    if (found !== undefined) return undefined;
    found = part.slice(eq + 1).trim();
  }
  return found || undefined;
}

/** Set-Cookie for a session holding `token` until `expiresAt` (null: until the browser closes). */
export function sessionCookie(token: string, opts: { secure: boolean; expiresAt: string | null }): string {
  const attrs = [`${sessionCookieName(opts.secure)}=${token}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (opts.secure) attrs.push('Secure');
  if (opts.expiresAt) attrs.push(`Expires=${new Date(opts.expiresAt).toUTCString()}`);
  return attrs.join('; ');
}

/** Set-Cookie that removes the session cookie from the browser. */
export function clearedSessionCookie(secure: boolean): string {
  return `${sessionCookieName(secure)}=; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}; Max-Age=0`;
}

/** The CSRF token of the session `token`. */
export function csrfTokenFor(key: Uint8Array, token: string): string {
  return createHmac('sha256', key).update(token).digest('base64url');
}

/** Whether `given` is the CSRF token of the session `token` (constant-time). */
export function csrfValid(key: Uint8Array, token: string, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string') return false;
  const want = Buffer.from(csrfTokenFor(key, token));
  const got = Buffer.from(given);
  return got.length === want.length && timingSafeEqual(got, want);
}
