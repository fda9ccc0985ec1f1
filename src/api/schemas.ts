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

// ---- applications, services, builds (the builds milestone) ----
const Vars = z.record(z.string(), z.string());
export const CreateAppBody = z.object({ name: z.string().min(1).max(63), env: Vars.optional() });
export const SetEnvBody = z.object({ env: Vars });
export const AppParams = z.object({ namespace: z.string(), app: z.string() });
export const ServiceBody = z.object({
  name: z.string().min(1).max(63),
  gitUrl: z.string().min(1).max(2048),
  branch: z.string().min(1).max(255).optional(),
  dockerfile: z.string().min(1).max(1024).optional(),
  context: z.string().min(1).max(1024).optional(),
  buildArgs: Vars.optional(),
  gitToken: z.object({ username: z.string().max(255).optional(), token: z.string().min(1).max(4096) }).optional(),
  sshDeployKey: z.boolean().optional(),
  pollIntervalSeconds: z.number().int().min(30).max(86400).nullable().optional(),
});
export const ServicePatch = ServiceBody.omit({ name: true, sshDeployKey: true }).partial();
export const ServiceView = z.object({
  id: z.string(), name: z.string(), gitUrl: z.string(), branch: z.string(), dockerfile: z.string(), context: z.string(),
  buildArgs: Vars, repository: z.string(), imageRepository: z.string(),
  gitAuth: z.enum(['none', 'token', 'ssh']), sshPublicKey: z.string().nullable(), pollIntervalSeconds: z.number().nullable(),
  latest: z.object({ buildId: z.string(), status: z.string(), commit: z.string().nullable(), image: z.string().nullable(), finishedAt: z.string().nullable() }).nullable(),
});
export const AppView = z.object({
  id: z.string(), name: z.string(), slug: z.string(), namespace: z.string(), env: Vars, createdAt: z.string(),
  lastDeployment: z.object({ id: z.string(), status: z.string(), createdAt: z.string(), finishedAt: z.string().nullable() }).nullable(),
});
export const AppDetail = AppView.extend({ services: z.array(ServiceView) });
export const DeployBody = z.object({ branch: z.string().min(1).max(255).optional(), services: z.array(z.string()).optional(), force: z.boolean().optional() });
export const Phase = z.object({ name: z.string(), startedAt: z.string(), endedAt: z.string().nullable() });
export const BuildViewSchema = z.object({
  id: z.string(), serviceId: z.string(), serviceName: z.string().nullable(), applicationId: z.string(), deploymentId: z.string().nullable(),
  status: z.string(), trigger: z.string(), triggeredBy: z.string(), branch: z.string(),
  commit: z.string().nullable(), shortCommit: z.string().nullable(), commitMessage: z.string().nullable(), commitAuthor: z.string().nullable(),
  image: z.string().nullable(), imageDigest: z.string().nullable(), imageId: z.string().nullable(), imageSize: z.number().nullable(), layerCount: z.number().nullable(),
  error: z.string().nullable(), phases: z.array(Phase), attempt: z.number(), rebuildOf: z.string().nullable(),
  createdAt: z.string(), startedAt: z.string().nullable(), finishedAt: z.string().nullable(), durationMs: z.number().nullable(),
});
export const DeploymentView = z.object({
  id: z.string(), status: z.string(), branch: z.string().nullable(), trigger: z.string(), triggeredBy: z.string(), error: z.string().nullable(),
  createdAt: z.string(), finishedAt: z.string().nullable(),
  items: z.array(z.object({ serviceId: z.string(), serviceName: z.string(), branch: z.string(), buildId: z.string(), commit: z.string().nullable() })),
});
export const DeployReply = z.object({ deployment: DeploymentView, builds: z.array(BuildViewSchema) });
export const LogLineSchema = z.object({ n: z.number(), t: z.string(), text: z.string(), phase: z.string().optional() });
export const TimelineEntry = z.object({
  kind: z.enum(['deployment', 'build']), id: z.string(), status: z.string(), title: z.string(),
  branch: z.string().nullable(), commit: z.string().nullable(), shortCommit: z.string().nullable(),
  commitMessage: z.string().nullable(), commitAuthor: z.string().nullable(),
  trigger: z.string(), triggeredBy: z.string(), startedAt: z.string(), finishedAt: z.string().nullable(), durationMs: z.number().nullable(),
  image: z.string().nullable(), imageId: z.string().nullable(), logUrl: z.string().nullable(),
  services: z.array(z.object({ service: z.string(), branch: z.string(), commit: z.string().nullable(), image: z.string().nullable(), status: z.string(), buildId: z.string() })).optional(),
  error: z.string().nullable(),
});
export const ImageRow = z.object({
  service: z.string(), repository: z.string(), image: z.string(), commit: z.string(), branch: z.string(),
  digest: z.string().nullable(), imageId: z.string().nullable(), size: z.number().nullable(), layers: z.number().nullable(), builtAt: z.string().nullable(),
});
export type AppViewT = z.infer<typeof AppView>;
export type AppDetailT = z.infer<typeof AppDetail>;
export type BuildViewT = z.infer<typeof BuildViewSchema>;
export type DeployReplyT = z.infer<typeof DeployReply>;
export type TimelineEntryT = z.infer<typeof TimelineEntry>;
export type ImageRowT = z.infer<typeof ImageRow>;
export type ServiceViewT = z.infer<typeof ServiceView>;
export type LogLineT = z.infer<typeof LogLineSchema>;
