// Opt-in: run the in-process test servers on the scale-out backends.
//
//   BUILDGRID_TEST_BACKENDS=postgres,s3 node --import tsx --test test/registry/*.test.ts
//
// `postgres`: each test server gets a fresh database (on BUILDGRID_TEST_DATABASE_URL, or a throwaway cluster this
// process starts once); `s3`: each gets an s3rver of its own. Unset (the default), servers use SQLite and the
// filesystem as before. The CI run covers the backends with their own suites and test/scaleout/; this switch lets
// any end-to-end suite be re-run on them.

import { testPostgres, type TestPostgres } from './postgres.ts';
import { startTestS3 } from './s3.ts';

/** Configuration overrides for one test server, and how to remove what was made for it. */
export interface BackendOverrides { overrides: Record<string, unknown>; stop(): Promise<void> }

/** One PostgreSQL per process while any test server uses it; closed with the last (an open connection would keep
 * the test process from exiting). */
let pgServer: Promise<TestPostgres> | null = null;
let pgUsers = 0;

/** The overrides BUILDGRID_TEST_BACKENDS asks for (none when unset). Throws when a requested backend cannot start. */
export async function testBackendOverrides(): Promise<BackendOverrides> {
  const wanted = new Set((process.env.BUILDGRID_TEST_BACKENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const overrides: Record<string, unknown> = {};
  const stops: Array<() => Promise<void>> = [];
  if (wanted.has('postgres')) {
    pgServer ??= testPostgres().then((s) => {
      if ('skip' in s) throw new Error(`BUILDGRID_TEST_BACKENDS=postgres but PostgreSQL is unavailable: ${s.skip}`);
      return s;
    });
    pgUsers++;
    const server = pgServer;
    const release = async () => {
      if (--pgUsers === 0 && pgServer === server) {
        pgServer = null;
        await (await server).stop();
      }
    };
    let db;
    try {
      db = await (await server).createDatabase();
    } catch (err) {
      await release().catch(() => undefined);
      throw err;
    }
    const made = db;
    overrides.databaseUrl = made.url;
    stops.push(async () => {
      await made.drop();
      await release();
    });
  }
  if (wanted.has('s3')) {
    const s3 = await startTestS3();
    const c = s3.settings;
    Object.assign(overrides, {
      s3Bucket: c.bucket, s3Endpoint: c.endpoint, s3Region: c.region, s3AccessKeyId: c.accessKeyId,
      s3SecretAccessKey: c.secretAccessKey, s3ForcePathStyle: true,
    });
    stops.push(() => s3.stop());
  }
  return { overrides, stop: async () => { for (const stop of stops.reverse()) await stop(); } };
}
