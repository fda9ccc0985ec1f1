// Fair queueing through the real API: a queued build says where it stands (GET /builds/:id, the builds list and
// `buildgrid builds`), and the next claim of a remote worker takes what the positions promised.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildInput, tick } from '../../src/metadata/suite-fixtures.ts';
import { apiCall } from '../support/world.ts';
import { cli } from '../support/cli.ts';
import { claim, setUpQueue as setUp, type Setup } from './queue-world.ts';

describe('fair queue (default: half of 4 slots = 2 per account)', () => {
  let x: Setup;
  before(async () => {
    x = await setUp({});
    assert.deepEqual([(await claim(x.s, x.worker, 'h/1'))?.id, (await claim(x.s, x.worker, 'h/2'))?.id], [x.burst[0]!.id, x.burst[1]!.id]);
    assert.equal(await claim(x.s, x.worker, 'h/3'), null, 'alpha runs 2 of its 2: its 4 other builds wait');
    await tick();
    x.late = await x.s.metadata.builds.create(buildInput(x.beta));
  });
  after(() => x.s.stop());

  test('beta\'s one build is first in line and starts at once; alpha\'s queued builds queue behind their own', async () => {
    const late = (await apiCall(x.s, x.admin, 'GET', `/builds/${x.late.id}`)).body;
    assert.equal(late.status, 'queued');
    assert.deepEqual(late.queue, { position: 1, accountPosition: 1, estimatedWaitSeconds: 0, estimatedStartAt: late.queue.estimatedStartAt });
    assert.ok(Math.abs(Date.parse(late.queue.estimatedStartAt) - Date.now()) < 60_000);

    const third = (await apiCall(x.s, x.admin, 'GET', `/builds/${x.burst[4]!.id}`)).body;
    // Alpha's own 2 ahead (positions 1-2 of its queue), beta's 1 may go first: 4th overall. No history: no time.
    assert.deepEqual(third.queue, { position: 4, accountPosition: 3, estimatedWaitSeconds: null, estimatedStartAt: null });
    const running = (await apiCall(x.s, x.admin, 'GET', `/builds/${x.burst[0]!.id}`)).body;
    assert.equal(running.queue, null, 'a running build has no queue place');
  });

  test('the builds list carries the same queue places', async () => {
    const list = (await apiCall(x.s, x.admin, 'GET', '/accounts/alpha/apps/shop/builds')).body as Array<{ id: string; status: string; queue: { accountPosition: number } | null }>;
    const places = new Map(list.map((b) => [b.id, b.queue?.accountPosition ?? null]));
    assert.deepEqual(x.burst.map((b) => places.get(b.id)), [null, null, 1, 2, 3, 4]);
  });

  test('`buildgrid builds` shows the place and the estimate of queued builds', async () => {
    const env = { BUILDGRID_SERVER: x.s.url, BUILDGRID_TOKEN: x.admin, BUILDGRID_FROM_SOURCE: '1' };
    const beta = await cli(['builds', 'beta/shop'], env);
    assert.equal(beta.code, 0, beta.stderr);
    assert.match(beta.stdout, new RegExp(`${x.late.id}.*queued #1, ~now`));
    assert.match(beta.stdout, /succeeded/);
    const alpha = await cli(['builds', 'alpha/shop'], env);
    assert.match(alpha.stdout, new RegExp(`${x.burst[4]!.id}.*queued #4 `), 'no history for alpha\'s service: no time');
    assert.match(alpha.stdout, new RegExp(`${x.burst[0]!.id}.*fetching`));
  });

  test('the next claim takes beta\'s build, as its position said', async () => {
    assert.equal((await claim(x.s, x.worker, 'h/3'))?.id, x.late.id);
  });
});

describe('fair queue off (maxConcurrentBuildsPerAccount 0): first come, first served', () => {
  let x: Setup;
  before(async () => {
    x = await setUp({ maxConcurrentBuildsPerAccount: 0 });
    for (const w of ['h/1', 'h/2', 'h/3']) await claim(x.s, x.worker, w); // the oldest three of alpha's
    await tick();
    x.late = await x.s.metadata.builds.create(buildInput(x.beta));
  });
  after(() => x.s.stop());

  test('beta\'s build waits behind alpha\'s whole burst', async () => {
    const late = (await apiCall(x.s, x.admin, 'GET', `/builds/${x.late.id}`)).body;
    assert.equal(late.queue.position, 4, 'alpha\'s 3 queued builds first');
    // 3 running + 3 ahead on 4 slots: 3 must finish, 4 at a time = 1 round of beta's 90 s.
    assert.equal(late.queue.estimatedWaitSeconds, 90);
    const next = await claim(x.s, x.worker, 'h/0');
    assert.equal(next?.id, x.burst[3]!.id);
  });
});
