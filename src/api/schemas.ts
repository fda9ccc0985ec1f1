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
export const QueueViewSchema = z.object({
  position: z.number().int().describe('1 = the next build a free slot takes, counting builds expected to be claimed first (all accounts)'),
  accountPosition: z.number().int().describe('place among this account\'s queued builds (1 = the account\'s next)'),
  estimatedWaitSeconds: z.number().nullable().describe('expected wait, from the service\'s recent build durations; null without history'),
  estimatedStartAt: z.string().nullable(),
});
const BaseImage = z.object({ stage: z.number().int(), written: z.string(), resolved: z.string().nullable(), digest: z.string().nullable() });
export const BuildViewSchema = z.object({
  id: z.string(), serviceId: z.string(), serviceName: z.string().nullable(), applicationId: z.string(), deploymentId: z.string().nullable(),
  status: z.string(), trigger: z.string(), triggeredBy: z.string(), branch: z.string(),
  commit: z.string().nullable(), shortCommit: z.string().nullable(), commitMessage: z.string().nullable(), commitAuthor: z.string().nullable(),
  image: z.string().nullable(), imageDigest: z.string().nullable(), imageId: z.string().nullable(), imageSize: z.number().nullable(), layerCount: z.number().nullable(),
  error: z.string().nullable(), phases: z.array(Phase), attempt: z.number(), rebuildOf: z.string().nullable(),
  baseImages: z.array(BaseImage).describe('every FROM naming an image (all stages): as written, the reference it resolved to, the digest used'),
  createdAt: z.string(), startedAt: z.string().nullable(), finishedAt: z.string().nullable(), durationMs: z.number().nullable(),
  queue: QueueViewSchema.nullable().optional().describe('queued builds only: where the build stands and when it should start'),
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
  baseImages: z.array(BaseImage).optional().describe('builds: every FROM naming an image, resolved, with the digest used'),
  services: z.array(z.object({ service: z.string(), branch: z.string(), commit: z.string().nullable(), image: z.string().nullable(), status: z.string(), buildId: z.string() })).optional(),
  error: z.string().nullable(),
  imageRemoved: z.object({
    reason: z.string().describe('retention, fsck or manual'), removedAt: z.string(), restorableUntil: z.string().nullable(), trashId: z.string(), image: z.string().nullable(),
  }).optional().describe('the build\'s image was removed (e.g. by retention); restorable until restorableUntil (null: purged)'),
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

// ---- triggers and notifications (issue 5) ----
export const HookInfoSchema = z.object({
  id: z.string(),
  url: z.string().nullable().describe('the hook URL with its secret (?key=); null for viewers'),
  signedUrl: z.string().describe('the URL without the secret, for hosts that sign the body (GitHub, Bitbucket) or send a token (GitLab)'),
  secret: z.string().nullable().describe('null for viewers'),
  failedAuthCount: z.number().describe('requests refused for a wrong signature or secret'),
  lastFailedAuthAt: z.string().nullable(), lastFailedAuthReason: z.string().nullable(),
  lastDeliveryAt: z.string().nullable(), createdAt: z.string(), rotatedAt: z.string().nullable(),
  polling: z.array(z.object({
    service: z.string(), branch: z.string(), everySeconds: z.number(),
    lastPolledAt: z.string().nullable(), lastCommit: z.string().nullable(), lastError: z.string().nullable(),
  })),
});
export const HookDeliverySchema = z.object({
  id: z.string(), provider: z.string(), event: z.string(), deliveryKey: z.string().nullable(), status: z.string(), message: z.string(),
  branch: z.string().nullable(), commit: z.string().nullable(), deploymentId: z.string().nullable(), createdAt: z.string(), updatedAt: z.string(),
});
export const NotificationEventSchema = z.enum(['build.queued', 'build.started', 'build.succeeded', 'build.failed', 'deployment.succeeded', 'deployment.failed']);
export const NotificationEndpointSchema = z.object({
  id: z.string(), url: z.string(), events: z.array(z.string()), description: z.string().nullable(), createdBy: z.string(), createdAt: z.string(),
});
export const CreateNotificationBody = z.object({
  url: z.string().min(1).max(2048).describe('an http(s) URL; private, loopback and link-local destinations are refused unless the operator allows them (allowPrivateNetworks)'),
  events: z.array(NotificationEventSchema).optional().describe('default: all of them'),
  secret: z.string().min(16).max(256).optional().describe('signing secret; generated when left out'),
  description: z.string().max(200).optional(),
});
export const CreatedNotificationEndpoint = NotificationEndpointSchema.extend({ secret: z.string().describe('signs X-BuildGrid-Signature-256; shown once') });
export const NotificationAttemptSchema = z.object({
  n: z.number(), startedAt: z.string(), durationMs: z.number(), statusCode: z.number().nullable(), error: z.string().nullable(),
  headers: z.record(z.string(), z.string()).nullable().describe('the headers of the receiver\'s answer (its body is never stored)'),
});
export const NotificationDeliverySchema = z.object({
  id: z.string(), endpointId: z.string(), event: z.string(), eventId: z.number().nullable(), status: z.enum(['pending', 'succeeded', 'failed']),
  attemptCount: z.number(), maxAttempts: z.number(), nextAttemptAt: z.string().nullable(), lastStatusCode: z.number().nullable(), lastError: z.string().nullable(),
  redeliveryOf: z.string().nullable(), createdAt: z.string(), completedAt: z.string().nullable(),
  attempts: z.array(NotificationAttemptSchema), payload: z.unknown().describe('the JSON body sent'),
});
export type HookInfoT = z.infer<typeof HookInfoSchema>;
export type HookDeliveryT = z.infer<typeof HookDeliverySchema>;
export type NotificationEndpointT = z.infer<typeof NotificationEndpointSchema>;
export type CreatedNotificationEndpointT = z.infer<typeof CreatedNotificationEndpoint>;
export type NotificationDeliveryT = z.infer<typeof NotificationDeliverySchema>;

// ---- lifecycle: retention, trash, usage, garbage collection, fsck (issue 6) ----
export * from './schemas-lifecycle.ts';
