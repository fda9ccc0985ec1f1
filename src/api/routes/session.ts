import { z } from 'zod';
import { LoginBody, LoginReply, Me } from '../schemas.ts';
import { requireUser, type ApiDeps, type TypedApi } from '../context.ts';
import { AppError } from '../../core/errors.ts';
import { isHttps } from '../authenticate.ts';
import { clearedSessionCookie, csrfTokenFor, sessionCookie } from '../session-cookie.ts';

const SessionUser = z.object({ id: z.string(), email: z.string(), isAdmin: z.boolean() });
/** The dashboard's session: who is signed in and the CSRF token its POST/PUT/PATCH/DELETE requests send as X-CSRF-Token. */
const SessionReply = z.object({ user: SessionUser, csrfToken: z.string() });

/**
 * POST /auth/login (an API token for the CLI and scripts), POST /auth/session and GET /auth/session (the dashboard's
 * cookie session), POST /auth/logout (revokes the caller's token or session), GET /me.
 */
export function registerSessionRoutes(app: TypedApi, deps: ApiDeps): void {
  const secure = isHttps(deps.publicUrl);
  app.post('/auth/login', { config: { access: 'public', signIn: true }, schema: { body: LoginBody, response: { 200: LoginReply } } }, async (req, reply) => {
    void reply.header('Cache-Control', 'no-store');
    const r = await deps.people.login(req.body.email, req.body.password, deps.clientAddress?.(req.raw) ?? req.ip);
    return { token: r.token, user: { id: r.user.id, email: r.user.email, isAdmin: r.user.isAdmin } };
  });
  // The token goes into an HttpOnly cookie only, never into the answer: no script of the page can read it.
  app.post('/auth/session', { config: { access: 'public', signIn: true }, schema: { body: LoginBody, response: { 200: SessionReply } } }, async (req, reply) => {
    const r = await deps.people.login(req.body.email, req.body.password, deps.clientAddress?.(req.raw) ?? req.ip);
    void reply.header('set-cookie', sessionCookie(r.token, { secure, expiresAt: r.apiToken.expiresAt })).header('Cache-Control', 'no-store');
    return { user: { id: r.user.id, email: r.user.email, isAdmin: r.user.isAdmin }, csrfToken: csrfTokenFor(deps.sessionKey, r.token) };
  });
  app.get('/auth/session', { config: { access: 'signedIn' }, schema: { response: { 200: SessionReply } } }, async (req, reply) => {
    const p = requireUser(req);
    void reply.header('Cache-Control', 'no-store');
    if (req.credential?.via !== 'cookie') throw new AppError('INVALID', 'this is the dashboard session; API tokens need no CSRF token');
    return { user: { id: p.id, email: p.email, isAdmin: p.isAdmin }, csrfToken: csrfTokenFor(deps.sessionKey, req.credential.token) };
  });
  app.post('/auth/logout', { config: { access: 'signedIn' }, schema: { response: { 200: z.object({ ok: z.boolean() }) } } }, async (req, reply) => {
    requireUser(req);
    await deps.people.logout(req.credential!.token);
    if (req.credential!.via === 'cookie') void reply.header('set-cookie', clearedSessionCookie(secure));
    return { ok: true };
  });
  app.get('/me', { config: { access: 'signedIn' }, schema: { response: { 200: Me } } }, async (req) => {
    const p = requireUser(req);
    const user = await deps.metadata.users.get(p.id);
    if (!user) throw new AppError('UNAUTHORIZED', 'your user no longer exists; sign in again');
    const ms = await deps.metadata.memberships.listForUser(p.id);
    const accounts = await Promise.all(ms.map(async (m) => ({ ...(await deps.metadata.accounts.get(m.accountId))!, role: m.role })));
    return { ...user, accounts };
  });
}
