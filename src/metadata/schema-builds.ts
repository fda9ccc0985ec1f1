import type { Generated } from 'kysely';
import type { Digest } from '../core/digest.ts';

/**
 * Kysely table types for the builds milestone (migration 0002), merged into `Database` in schema.ts. Same column
 * conventions as there; JSON values (env, build args, git auth, phases, event payloads) are TEXT written by toJson.
 */
export interface BuildsTables {
  applications: ApplicationsTable;
  services: ServicesTable;
  deployments: DeploymentsTable;
  builds: BuildsTable;
  events: EventsTable;
}

/** An application of an account; (account_id, slug) is unique; `env` is a JSON object. */
export interface ApplicationsTable { id: string; account_id: string; name: string; slug: string; env: string; created_at: string }

/** A buildable service; (application_id, name) and `repository` are unique; `build_args`, `git_auth` are JSON. */
export interface ServicesTable {
  id: string;
  application_id: string;
  name: string;
  git_url: string;
  branch: string;
  dockerfile: string;
  context: string;
  build_args: string;
  repository: string;
  git_auth: string;
  poll_interval_seconds: number | null;
  created_at: string;
}

/** A deployment (builds every service of an application); `status` is 'running' until finished; `items` is JSON. */
export interface DeploymentsTable {
  id: string;
  application_id: string;
  account_id: string;
  branch: string | null;
  status: string;
  trigger: string;
  triggered_by: string;
  items: string;
  error: string | null;
  created_at: string;
  finished_at: string | null;
}

/** One build of a service, also the job-queue row; `phases` is a JSON array; booleans are 0/1. */
export interface BuildsTable {
  id: string;
  service_id: string;
  application_id: string;
  account_id: string;
  deployment_id: string | null;
  status: string;
  trigger: string;
  triggered_by: string;
  branch: string;
  commit: string | null;
  commit_message: string | null;
  commit_author: string | null;
  repository: string;
  image_digest: Digest | null;
  image_id: Digest | null;
  image_size: number | null;
  layer_count: number | null;
  error: string | null;
  phases: string;
  /** JSON array of BaseImageRecord (migration 0007); null when not recorded. */
  base_images: string | null;
  attempt: number;
  max_attempts: number;
  worker_id: string | null;
  heartbeat_at: string | null;
  cancel_requested: number;
  force: number;
  rebuild_of: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** The event log; `seq` is assigned by the database (SQLite AUTOINCREMENT, PostgreSQL bigserial). */
export interface EventsTable {
  seq: Generated<number>;
  account_id: string;
  application_id: string | null;
  kind: string;
  payload: string;
  created_at: string;
}
