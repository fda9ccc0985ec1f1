import type { paths } from './schema';

/** Named views of the generated API types (web/src/api/schema.d.ts). */
type Json<R> = R extends { content: { 'application/json': infer J } } ? J : never;
type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R }
  ? Json<R[Extract<keyof R, 200 | 201 | 202>]>
  : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export type Me = Ok<'/api/v1/me', 'get'>;
export type Account = Ok<'/api/v1/accounts', 'get'>[number];
export type Role = NonNullable<Account['role']>;
export type Member = Ok<'/api/v1/accounts/{namespace}/members', 'get'>[number];
export type Credentials = Ok<'/api/v1/credentials', 'get'>;
export type PullToken = Ok<'/api/v1/accounts/{namespace}/tokens', 'get'>[number];
export type CreatedPullToken = Ok<'/api/v1/accounts/{namespace}/tokens', 'post'>;
export type Repository = Ok<'/api/v1/accounts/{namespace}/repositories', 'get'>[number];
export type AppView = Ok<'/api/v1/accounts/{namespace}/apps', 'get'>[number];
export type AppDetail = Ok<'/api/v1/accounts/{namespace}/apps/{app}', 'get'>;
export type Service = AppDetail['services'][number];
export type ServiceBody = Body<'/api/v1/accounts/{namespace}/apps/{app}/services', 'post'>;
export type ServicePatch = Body<'/api/v1/accounts/{namespace}/apps/{app}/services/{service}', 'patch'>;
export type Build = Ok<'/api/v1/builds/{id}', 'get'>;
export type TimelineEntry = Ok<'/api/v1/accounts/{namespace}/apps/{app}/timeline', 'get'>[number];
export type ImageRow = Ok<'/api/v1/accounts/{namespace}/apps/{app}/images', 'get'>[number];
export type LogLine = Ok<'/api/v1/builds/{id}/log', 'get'>['lines'][number];

// ---- lifecycle: retention, trash, usage, garbage collection (issue 6) ----
export type PolicyReply = Ok<'/api/v1/accounts/{namespace}/apps/{app}/retention', 'get'>;
export type RetentionPolicy = NonNullable<PolicyReply['policy']>;
export type EffectivePolicy = NonNullable<PolicyReply['effective']>;
export type PolicyBody = Body<'/api/v1/accounts/{namespace}/apps/{app}/retention', 'put'>;
export type RetentionReport = Ok<'/api/v1/accounts/{namespace}/retention/run', 'post'>;
export type AppRetentionReport = RetentionReport['applications'][number];
export type ImageDecision = AppRetentionReport['decisions'][number];
export type TrashEntry = Ok<'/api/v1/accounts/{namespace}/trash', 'get'>[number];
export type UsageReport = Ok<'/api/v1/accounts/{namespace}/usage', 'get'>;
export type UsageRow = UsageReport['applications'][number];
export type AppUsage = Ok<'/api/v1/accounts/{namespace}/apps/{app}/usage', 'get'>;
export type LifecycleRun = Ok<'/api/v1/admin/lifecycle/runs', 'get'>[number];
export type LifecycleRunDetail = Ok<'/api/v1/admin/lifecycle/runs/{id}', 'get'>;

// ---- notification endpoints of an account (signed outgoing webhooks) ----
export type NotificationEndpoint = Ok<'/api/v1/accounts/{namespace}/notifications', 'get'>[number];
export type CreatedNotificationEndpoint = Ok<'/api/v1/accounts/{namespace}/notifications', 'post'>;
export type NewNotificationEndpoint = Body<'/api/v1/accounts/{namespace}/notifications', 'post'>;
export type NotificationEventName = NonNullable<NewNotificationEndpoint['events']>[number];
export type NotificationDelivery = Ok<'/api/v1/accounts/{namespace}/notifications/deliveries', 'get'>[number];
export type NotificationAttempt = NotificationDelivery['attempts'][number];
