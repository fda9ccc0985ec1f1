import { describe, test } from 'node:test';
import { peopleSuite } from './suite-people.ts';
import type { OpenStore } from './suite-helpers.ts';
import { registrySuite } from './suite-registry.ts';

export type { OpenStore } from './suite-helpers.ts';

/**
 * The backend-independent contract tests for Metadata. Every backend runs exactly this suite (SQLite file and
 * :memory: in metadata.test.ts; PostgreSQL later), so behaviour cannot drift between them. `open` must return a
 * fresh, empty, migrated store on every call.
 */
export function runMetadataSuite(name: string, open: OpenStore): void {
  describe(`metadata contract: ${name}`, () => {
    test('ping answers and close is idempotent', async () => {
      const m = await open();
      await m.ping();
      await m.close();
      await m.close();
    });
    peopleSuite(open);
    registrySuite(open);
  });
}
