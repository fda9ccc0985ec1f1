import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import type { PullToken } from '../../metadata/types.ts';
import {
  Account, CreateAccountBody, CreatePullTokenBody, CreatedPullToken, CreateUserBody, Member, NamespaceParams,
  PullToken as PullTokenSchema, SetMemberBody, User,
} from '../schemas.ts';
import { requireUser, type ApiDeps, type TypedApi } from '../context.ts';
import { accountFor, requireAdmin } from '../access.ts';

const view = (t: PullToken) => ({
  id: t.id, name: t.name, username: t.username, repositories: t.repositories,
  createdAt: t.createdAt, expiresAt: t.expiresAt, revokedAt: t.revokedAt,
});

/** Accounts, members, users and pull tokens. */
export function registerAccountRoutes(app: TypedApi, deps: ApiDeps): void {
  const { metadata, people } = deps;

  app.get('/accounts', { config: { access: 'signedIn' }, schema: { response: { 200: z.array(Account) } } }, async (req) => {
    const user = requireUser(req);
    const ms = await metadata.memberships.listForUser(user.id);
    const roles = new Map(ms.map((m) => [m.accountId, m.role]));
    const all = user.isAdmin ? await metadata.accounts.list() : await Promise.all(ms.map(async (m) => (await metadata.accounts.get(m.accountId))!));
    return all.map((a) => ({ ...a, role: roles.get(a.id) ?? null }));
  });

  app.post('/accounts', { config: { access: 'signedIn' }, schema: { body: CreateAccountBody, response: { 201: Account } } }, async (req, reply) => {
    const user = requireUser(req);
    const a = await people.createAccount(req.body.name, req.body.namespace, { byAdmin: user.isAdmin });
    await people.setMembership({ accountId: a.id, userId: user.id, role: 'owner' });
    return reply.status(201).send({ ...a, role: 'owner' as const });
  });

  app.get('/accounts/:namespace/members', { config: { access: { account: 'viewer' } }, schema: { params: NamespaceParams, response: { 200: z.array(Member) } } }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'viewer');
    const ms = await metadata.memberships.listForAccount(account.id);
    return ms.map((m) => ({ userId: m.userId, email: m.email, role: m.role }));
  });

  app.put('/accounts/:namespace/members', { config: { access: { account: 'owner' } }, schema: { params: NamespaceParams, body: SetMemberBody, response: { 200: Member } } }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'owner');
    const target = await metadata.users.getByEmail(req.body.email.trim().toLowerCase());
    if (!target) throw new AppError('NOT_FOUND', `no user with email ${req.body.email}; create them first (\`buildgrid users create\`)`);
    const m = await people.setMembership({ accountId: account.id, userId: target.id, role: req.body.role });
    return { userId: target.id, email: target.email, role: m.role };
  });

  app.delete('/accounts/:namespace/members/:userId', { config: { access: { account: 'owner' } },
    schema: { params: NamespaceParams.extend({ userId: z.string() }), response: { 200: z.object({ ok: z.boolean() }) } },
  }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'owner');
    await people.removeMembership(account.id, req.params.userId);
    return { ok: true };
  });

  app.get('/users', { config: { access: 'admin' }, schema: { response: { 200: z.array(User) } } }, async (req) => {
    requireAdmin(requireUser(req));
    return metadata.users.list();
  });

  app.post('/users', { config: { access: 'signedIn' }, schema: { body: CreateUserBody, response: { 201: User } } }, async (req, reply) => {
    const user = requireUser(req);
    const b = req.body;
    // Administrators create anyone; an account owner may create a (non-admin) user directly into their account.
    const target = b.account ? (await accountFor(metadata, user, b.account, 'owner')).account : null;
    if (!user.isAdmin && (!target || b.isAdmin)) throw new AppError('DENIED', 'only administrators may create users outside an account you own');
    const created = await people.createUser({ email: b.email, password: b.password, isAdmin: b.isAdmin ?? false });
    if (target) await people.setMembership({ accountId: target.id, userId: created.id, role: b.role ?? 'developer' });
    return reply.status(201).send(created);
  });

  app.get('/accounts/:namespace/tokens', { config: { access: { account: 'developer' } }, schema: { params: NamespaceParams, response: { 200: z.array(PullTokenSchema) } } }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    return (await people.listPullTokens(account.id)).map(view);
  });

  app.post('/accounts/:namespace/tokens', { config: { access: { account: 'developer' } },
    schema: { params: NamespaceParams, body: CreatePullTokenBody, response: { 201: CreatedPullToken } },
  }, async (req, reply) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    const b = req.body;
    const expiresAt = b.expiresAt ?? (b.expiresInDays ? new Date(Date.now() + b.expiresInDays * 86400_000).toISOString() : null);
    const t = await people.createPullToken({ accountId: account.id, name: b.name, repositories: b.repositories ?? null, expiresAt });
    return reply.status(201).send({ ...view(t.token), username: t.username, password: t.password });
  });

  app.delete('/accounts/:namespace/tokens/:id', { config: { access: { account: 'developer' } },
    schema: { params: NamespaceParams.extend({ id: z.string() }), response: { 200: PullTokenSchema } },
  }, async (req) => {
    const { account } = await accountFor(metadata, requireUser(req), req.params.namespace, 'developer');
    const existing = await metadata.pullTokens.get(req.params.id);
    if (!existing || existing.accountId !== account.id) throw new AppError('NOT_FOUND', `pull token ${req.params.id} not found in ${account.namespace}`);
    return view(await people.revokePullToken(existing.id));
  });
}
