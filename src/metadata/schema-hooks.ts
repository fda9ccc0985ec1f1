/**
 * Kysely table types for triggers and notifications (migration 0003), merged into `Database` in schema.ts. Same
 * column conventions as there: random TEXT ids, ISO-8601 TEXT timestamps, JSON as TEXT, booleans as 0/1.
 */
export interface HooksTables {
  app_hooks: AppHooksTable;
  hook_deliveries: HookDeliveriesTable;
  service_polls: ServicePollsTable;
  notification_endpoints: NotificationEndpointsTable;
  notification_deliveries: NotificationDeliveriesTable;
  notification_attempts: NotificationAttemptsTable;
}

/** An application's redeploy hook; `application_id` is unique; `secret_enc` is sealed with the server key. */
export interface AppHooksTable {
  id: string;
  application_id: string;
  account_id: string;
  secret_enc: string;
  failed_auth_count: number;
  last_failed_auth_at: string | null;
  last_failed_auth_reason: string | null;
  last_delivery_at: string | null;
  created_at: string;
  rotated_at: string | null;
}

/** A request a hook accepted; (hook_id, delivery_key) is unique (NULL keys never collide). */
export interface HookDeliveriesTable {
  id: string;
  hook_id: string;
  application_id: string;
  provider: string;
  event: string;
  delivery_key: string | null;
  status: string;
  message: string;
  branch: string | null;
  commit: string | null;
  deployment_id: string | null;
  created_at: string;
  updated_at: string;
}

/** The poller's state per service. */
export interface ServicePollsTable {
  service_id: string;
  last_commit: string | null;
  last_polled_at: string;
  last_error: string | null;
}

/** A notification endpoint of an account; `events` is a JSON array. */
export interface NotificationEndpointsTable {
  id: string;
  account_id: string;
  url: string;
  events: string;
  secret_enc: string;
  description: string | null;
  created_by: string;
  created_at: string;
}

/** One notification to one endpoint, also the retry queue row. */
export interface NotificationDeliveriesTable {
  id: string;
  endpoint_id: string;
  account_id: string;
  event: string;
  event_seq: number | null;
  payload: string;
  status: string;
  attempt_count: number;
  max_attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  redelivery_of: string | null;
  created_at: string;
  completed_at: string | null;
}

/** One attempt of a delivery; key (delivery_id, n). */
export interface NotificationAttemptsTable {
  delivery_id: string;
  n: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response: string | null;
}
