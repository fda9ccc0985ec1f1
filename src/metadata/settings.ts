import type { Kysely } from 'kysely';
import { AppError } from '../core/errors.ts';
import type { Database } from './schema.ts';
import type { SettingsRepo } from './types.ts';

/** Server-wide settings over Kysely. setIfAbsent is race-free: the first writer wins and everyone reads its value. */
export function settingsRepo(db: Kysely<Database>): SettingsRepo {
  async function get(key: string): Promise<string | null> {
    const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value ?? null;
  }
  return {
    get,
    async setIfAbsent(key, value) {
      await db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
      const stored = await get(key);
      if (stored === null) throw new AppError('INTERNAL', `setting "${key}" vanished while being set`);
      return stored;
    },
    async delete(key) {
      await db.deleteFrom('settings').where('key', '=', key).execute();
    },
  };
}
