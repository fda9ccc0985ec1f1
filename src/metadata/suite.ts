import { describe, test } from 'node:test';
import { appsSuite } from './suite-apps.ts';
import { fairnessSuite } from './suite-fairness.ts';
import { buildsSuite } from './suite-builds.ts';
import { hooksSuite } from './suite-hooks.ts';
import { lifecycleSuite } from './suite-lifecycle.ts';
import type { OpenStore, OpenTwins } from './suite-helpers.ts';
import { peopleSuite } from './suite-people.ts';
import { queueSuite } from './suite-queue.ts';
import { registrySuite } from './suite-registry.ts';

export type { OpenStore, OpenTwins } from './suite-helpers.ts';

/** What a backend can additionally do for the suite. */
export interface SuiteOptions {
  /** Two stores over one database, for cross-connection concurrency tests (not registered when absent, e.g. :memory:). */
  openTwins?: OpenTwins;
}

/**
 * The backend-independent contract tests for Metadata. Every backend runs exactly this suite (SQLite file and
 * :memory: in metadata.test.ts; PostgreSQL in postgres.test.ts), so behaviour cannot drift between them. `open`
 * must return a fresh, empty, migrated store on every call.
 */
export function runMetadataSuite(name: string, open: OpenStore, opts: SuiteOptions = {}): void {
  describe(`metadata contract: ${name}`, () => {
    test('ping answers and close is idempotent', async () => {
      const m = await open();
      await m.ping();
      await m.close();
      await m.close();
    });
    peopleSuite(open);
    registrySuite(open);
    appsSuite(open);
    buildsSuite(open);
    queueSuite(open, opts.openTwins);
    fairnessSuite(open, opts.openTwins);
    hooksSuite(open);
    lifecycleSuite(open);
  });
}
