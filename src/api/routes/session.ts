import { z } from 'zod';
import { LoginBody, LoginReply, Me } from '../schemas.ts';
import { requireUser, type ApiDeps, type TypedApi } from '../context.ts';
import { AppError } from '../../core/errors.ts';

/** POST /auth/login, POST /auth/logout, GET /me. */
export function registerSessionRoutes(app: TypedApi, deps: ApiDeps): void {
  app.post('/auth/login', { schema: { body: LoginBody, response: { 200: LoginReply } } }, async (req) => {
    const r = await deps.people.login(req.body.email, req.body.password, req.ip);
    return { token: r.token, user: { id: r.user.id, email: r.user.email, isAdmin: r.user.isAdmin } };
  });
  app.post('/auth/logout', { schema: { response: { 200: z.object({ ok: z.boolean() }) } } }, async (req) => {
    requireUser(req);
    await deps.people.logout(req.headers.authorization!.slice(7).trim());
    return { ok: true };
  });
  app.get('/me', { schema: { response: { 200: Me } } }, async (req) => {
    const p = requireUser(req);
    const user = await deps.metadata.users.get(p.id);
    if (!user) throw new AppError('UNAUTHORIZED', 'your user no longer exists; sign in again');
    const ms = await deps.metadata.memberships.listForUser(p.id);
    const accounts = await Promise.all(ms.map(async (m) => ({ ...(await deps.metadata.accounts.get(m.accountId))!, role: m.role })));
    return { ...user, accounts };
  });
}
