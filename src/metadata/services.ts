import type { Kysely, Selectable, Updateable } from 'kysely';
import { AppError } from '../core/errors.ts';
import { randomId } from '../core/ids.ts';
import { fromJson, nowIso, toJson } from './codec.ts';
import type { Database, ServicesTable } from './schema.ts';
import { rethrowViolation } from './sql-errors.ts';
import type { GitAuth, Service, ServicesRepo } from './types.ts';

type ServicePatch = Parameters<ServicesRepo['update']>[1];

/**
 * Services over Kysely. create and update throw AppError CONFLICT when the name is taken in the application or the
 * repository by another service; create throws NOT_FOUND for a missing application, update for a missing service.
 * list is ordered by name, listPolled by creation. delete removes the service's builds too (foreign-key cascade)
 * and does nothing for an unknown id.
 */
export function servicesRepo(db: Kysely<Database>): ServicesRepo {
  const select = () => db.selectFrom('services').selectAll();
  const conflict = (name: string | undefined, repository: string | undefined) => (target: string) =>
    target.includes('repository')
      ? `repository "${repository}" is already used by another service`
      : `the application already has a service named "${name}"`;

  return {
    async create(input) {
      const row: Selectable<ServicesTable> = { id: randomId(), ...toColumns(input), created_at: nowIso() } as Selectable<ServicesTable>;
      try {
        await db.insertInto('services').values(row).execute();
      } catch (err) {
        rethrowViolation(err, {
          unique: conflict(input.name, input.repository),
          missing: ['NOT_FOUND', `application ${input.applicationId} does not exist`],
        });
      }
      return toService(row);
    },
    async get(id) {
      const row = await select().where('id', '=', id).executeTakeFirst();
      return row ? toService(row) : null;
    },
    async list(applicationId) {
      const rows = await select().where('application_id', '=', applicationId).orderBy('name').execute();
      return rows.map(toService);
    },
    async update(id, patch) {
      const set = toColumns(patch);
      let row: Selectable<ServicesTable> | undefined;
      try {
        row = Object.keys(set).length === 0
          ? await select().where('id', '=', id).executeTakeFirst()
          : await db.updateTable('services').set(set).where('id', '=', id).returningAll().executeTakeFirst();
      } catch (err) {
        rethrowViolation(err, { unique: conflict(patch.name, patch.repository) });
      }
      if (!row) throw new AppError('NOT_FOUND', `service ${id} does not exist`);
      return toService(row);
    },
    async listPolled() {
      const rows = await select().where('poll_interval_seconds', 'is not', null).orderBy('created_at').orderBy('id').execute();
      return rows.map(toService);
    },
    async delete(id) {
      await db.deleteFrom('services').where('id', '=', id).execute();
    },
  };
}

/** The columns for the fields present in `s` (all of them for create, the changed ones for update). */
function toColumns(s: ServicePatch & { applicationId?: string }): Updateable<ServicesTable> {
  const out: Updateable<ServicesTable> = {};
  if (s.applicationId !== undefined) out.application_id = s.applicationId;
  if (s.name !== undefined) out.name = s.name;
  if (s.gitUrl !== undefined) out.git_url = s.gitUrl;
  if (s.branch !== undefined) out.branch = s.branch;
  if (s.dockerfile !== undefined) out.dockerfile = s.dockerfile;
  if (s.context !== undefined) out.context = s.context;
  if (s.buildArgs !== undefined) out.build_args = toJson(s.buildArgs) ?? '{}';
  if (s.repository !== undefined) out.repository = s.repository;
  if (s.gitAuth !== undefined) out.git_auth = toJson(s.gitAuth) ?? '{"kind":"none"}';
  if (s.pollIntervalSeconds !== undefined) out.poll_interval_seconds = s.pollIntervalSeconds;
  return out;
}

/** Maps a services row to the domain type. */
export function toService(r: Selectable<ServicesTable>): Service {
  return {
    id: r.id,
    applicationId: r.application_id,
    name: r.name,
    gitUrl: r.git_url,
    branch: r.branch,
    dockerfile: r.dockerfile,
    context: r.context,
    buildArgs: fromJson<Record<string, string>>(r.build_args) ?? {},
    repository: r.repository,
    gitAuth: fromJson<GitAuth>(r.git_auth) ?? { kind: 'none' },
    pollIntervalSeconds: r.poll_interval_seconds === null ? null : Number(r.poll_interval_seconds),
    createdAt: r.created_at,
  };
}
