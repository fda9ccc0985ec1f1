import { sql, type Kysely } from 'kysely';
import { accountsRepo } from './accounts.ts';
import { applicationsRepo } from './applications.ts';
import { buildsRepo } from './builds.ts';
import { deploymentsRepo } from './deployments.ts';
import { eventsRepo } from './events.ts';
import { appHooksRepo, pollsRepo } from './hooks.ts';
import { notificationsRepo } from './hooks-notifications.ts';
import { lifecycleRepos } from './lifecycle.ts';
import { manifestsRepo } from './manifests.ts';
import { membershipsRepo } from './memberships.ts';
import { repositoriesRepo } from './repositories.ts';
import { servicesRepo } from './services.ts';
import type { Database } from './schema.ts';
import { settingsRepo } from './settings.ts';
import { tagsRepo } from './tags.ts';
import { apiTokensRepo, pullTokensRepo } from './tokens.ts';
import type { Metadata } from './types.ts';
import { usersRepo } from './users.ts';
import { workerTokensRepo } from './worker-tokens.ts';

/**
 * Assembles the Metadata facade over an open, migrated Kysely database of any dialect. The repo modules only use
 * Kysely's query builder, so a PostgreSQL backend reuses them by passing a Kysely<Database> on a PostgresDialect.
 * close() destroys the Kysely instance (and its driver); calling it again does nothing.
 */
export function createMetadata(db: Kysely<Database>): Metadata {
  let closed: Promise<void> | null = null;
  return {
    accounts: accountsRepo(db),
    users: usersRepo(db),
    memberships: membershipsRepo(db),
    apiTokens: apiTokensRepo(db),
    pullTokens: pullTokensRepo(db),
    repositories: repositoriesRepo(db),
    manifests: manifestsRepo(db),
    tags: tagsRepo(db),
    settings: settingsRepo(db),
    applications: applicationsRepo(db),
    services: servicesRepo(db),
    builds: buildsRepo(db),
    deployments: deploymentsRepo(db),
    events: eventsRepo(db),
    hooks: appHooksRepo(db),
    polls: pollsRepo(db),
    notifications: notificationsRepo(db),
    lifecycle: lifecycleRepos(db),
    workerTokens: workerTokensRepo(db),
    async ping() {
      await sql`select 1`.execute(db);
    },
    close() {
      closed ??= db.destroy();
      return closed;
    },
  };
}
