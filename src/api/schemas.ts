import { z } from 'zod';

/**
 * Request and response schemas of /api/v1: the one contract shared by the server (validation + OpenAPI), the CLI
 * and the dashboard.
 */
export const Role = z.enum(['owner', 'developer', 'viewer']);

export const LoginBody = z.object({ email: z.string().min(1), password: z.string().min(1) });
export const LoginReply = z.object({
  token: z.string(),
  user: z.object({ id: z.string(), email: z.string(), isAdmin: z.boolean() }),
});

export const Account = z.object({ id: z.string(), name: z.string(), namespace: z.string(), createdAt: z.string(), role: Role.nullable() });
export const CreateAccountBody = z.object({ name: z.string().min(1).max(100), namespace: z.string().min(1).max(63).optional() });

export const User = z.object({ id: z.string(), email: z.string(), isAdmin: z.boolean(), registryUsername: z.string(), createdAt: z.string() });
export const CreateUserBody = z.object({
  email: z.string().min(3).max(254),
  password: z.string().min(8).max(1024),
  isAdmin: z.boolean().optional(),
  account: z.string().optional().describe('namespace of an account to add the user to'),
  role: Role.optional(),
});
export const Me = User.extend({ accounts: z.array(Account) });

export const Member = z.object({ userId: z.string(), email: z.string(), role: Role });
export const SetMemberBody = z.object({ email: z.string().min(3), role: Role });

export const Credentials = z.object({
  registry: z.string().describe('host[:port] to use with docker login'),
  username: z.string(),
  password: z.string(),
});

export const PullToken = z.object({
  id: z.string(), name: z.string(), username: z.string(), repositories: z.array(z.string()).nullable(),
  createdAt: z.string(), expiresAt: z.string().nullable(), revokedAt: z.string().nullable(),
});
export const CreatePullTokenBody = z.object({
  name: z.string().min(1).max(64),
  repositories: z.array(z.string()).optional().describe('full repository names; omitted = all of the account'),
  expiresAt: z.string().datetime().optional(),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
export const CreatedPullToken = PullToken.extend({ password: z.string().describe('shown once') });

export const Repository = z.object({ name: z.string(), image: z.string(), tags: z.array(z.string()) });

export const NamespaceParams = z.object({ namespace: z.string() });
export const ErrorReply = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export type LoginReplyT = z.infer<typeof LoginReply>;
export type AccountT = z.infer<typeof Account>;
export type UserT = z.infer<typeof User>;
export type MeT = z.infer<typeof Me>;
export type CredentialsT = z.infer<typeof Credentials>;
export type PullTokenT = z.infer<typeof PullToken>;
export type CreatedPullTokenT = z.infer<typeof CreatedPullToken>;
export type RepositoryT = z.infer<typeof Repository>;
export type MemberT = z.infer<typeof Member>;
