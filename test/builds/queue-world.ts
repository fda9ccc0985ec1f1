// The queue world of the fair-queue tests (test/builds/queue.test.ts, test/web/queue.test.ts): a server with no
// in-process workers (buildConcurrency 0), where the tests claim as a remote worker over HTTP, so nothing runs by
// itself and every queue number is deterministic.

import assert from 'node:assert/strict';
import { buildInput, seed, tick, type Seed } from '../../src/metadata/suite-fixtures.ts';
import type { Build } from '../../src/metadata/types.ts';
import { ADMIN, startTestServer, type TestServer } from '../support/server.ts';
import { apiCall, login } from '../support/world.ts';

/** What setUpQueue made; `late` is set by the test that queues it. */
export interface Setup { s: TestServer; admin: string; worker: string; alpha: Seed; beta: Seed; burst: Build[]; late: Build }

/**
 * Four remote worker slots ask for work (so the server counts 4 build slots); beta has one earlier build that took
 * 90 s; alpha queues 6 builds, of which workers claim what the limit allows; then beta queues one.
 */
export async function setUpQueue(config: Record<string, unknown>): Promise<Setup> {
  const s = await startTestServer({ buildConcurrency: 0, ...config });
  const admin = await login(s, ADMIN.email, ADMIN.password);
  const worker = (await apiCall(s, admin, 'POST', '/admin/worker-tokens', { name: 'fleet' })).body.token as string;
  for (let i = 0; i < 4; i++) assert.equal((await claim(s, worker, `h/${i}`)), null, 'nothing queued yet');
  const alpha = await seed(s.metadata, 'alpha');
  const beta = await seed(s.metadata, 'beta');
  const earlier = await s.metadata.builds.create(buildInput(beta));
  const claimed = await claim(s, worker, 'h/0');
  assert.equal(claimed?.id, earlier.id);
  await s.metadata.builds.update(earlier.id, { status: 'succeeded', finishedAt: new Date(Date.parse(claimed!.startedAt!) + 90_000).toISOString() });
  const burst: Build[] = [];
  for (let i = 0; i < 6; i++) {
    await tick();
    burst.push(await s.metadata.builds.create(buildInput(alpha)));
  }
  return { s, admin, worker, alpha, beta, burst, late: undefined as unknown as Build };
}

/** POST /worker/claim as slot `worker`; the build claimed or null. */
export async function claim(s: TestServer, token: string, worker: string): Promise<Build | null> {
  const r = await apiCall(s, token, 'POST', '/worker/claim', { worker });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.build;
}

