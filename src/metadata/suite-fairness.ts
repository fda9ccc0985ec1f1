import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildInput, fromNow, seed, tick, type Seed } from './suite-fixtures.ts';
import { rejectsWith, withStore, type OpenStore, type OpenTwins } from './suite-helpers.ts';
import type { Build, Metadata } from './types.ts';

/** Contract tests for fair queueing: claim's per-account limit and round-robin, and queuePlace. */
export function fairnessSuite(open: OpenStore, openTwins?: OpenTwins): void {
  const run = (fn: (m: Metadata) => Promise<void>) => () => withStore(open, fn);

  describe('builds queue: fair claiming', () => {
    test('a burst of 10 from account A and then 1 from B: B is claimed second (first come, first served: last)', run(async (m) => {
      const [a, b] = [await seed(m, 'alpha'), await seed(m, 'beta')];
      const burst = await queue(m, a, 10);
      const [late] = await queue(m, b, 1);
      const fair = await claimAll(m, 4);
      assert.deepEqual(fair.map((c) => c.id), [burst[0]!.id, late!.id, burst[1]!.id, burst[2]!.id, burst[3]!.id], 'then A up to its limit of 4');

      // The same queue without fairness: strictly oldest first, so B waits behind the whole burst.
      await withStore(open, async (fifo) => {
        const [a2, b2] = [await seed(fifo, 'alpha'), await seed(fifo, 'beta')];
        await queue(fifo, a2, 10);
        const [late2] = await queue(fifo, b2, 1);
        const order: string[] = [];
        for (let c = await fifo.builds.claim('w'); c; c = await fifo.builds.claim('w')) order.push(c.id);
        assert.equal(order.indexOf(late2!.id), 10);
      });
    }));

    test('an account at its limit is skipped until one of its builds finishes; others still run', run(async (m) => {
      const [a, b] = [await seed(m, 'alpha'), await seed(m, 'beta')];
      const burst = await queue(m, a, 3);
      const c1 = await m.builds.claim('w1', { maxPerAccount: 1 });
      assert.equal(c1?.id, burst[0]!.id);
      assert.equal(await m.builds.claim('w2', { maxPerAccount: 1 }), null, 'A runs 1 of 1: nothing claimable');
      const [other] = await queue(m, b, 1);
      assert.equal((await m.builds.claim('w2', { maxPerAccount: 1 }))?.id, other!.id);
      await m.builds.update(c1!.id, { status: 'succeeded', finishedAt: fromNow(0) }, 'w1');
      assert.equal((await m.builds.claim('w3', { maxPerAccount: 1 }))?.id, burst[1]!.id, 'a finished build frees the slot');
      assert.equal((await m.builds.claim('w4', { maxPerAccount: 2 }))?.id, burst[2]!.id, 'the limit is the caller\'s, per claim');
    }));

    test('accounts with equal running counts take turns (round-robin by latest claim)', run(async (m) => {
      const seeds = [await seed(m, 'alpha'), await seed(m, 'beta'), await seed(m, 'gamma')];
      for (const s of seeds) await queue(m, s, 3); // all of alpha's, then beta's, then gamma's
      const order: string[] = [];
      for (let i = 0; i < 9; i++) {
        const c = await m.builds.claim(`w${i}`, { maxPerAccount: 3 });
        assert.ok(c, `claim ${i + 1} of 9 found a build`);
        order.push(c.accountId);
        await m.builds.update(c.id, { status: 'succeeded', finishedAt: fromNow(0) }, `w${i}`);
        await tick(); // the next claim's startedAt is later: the order among accounts is by time, not by chance
      }
      const ids = seeds.map((s) => s.accountId);
      assert.deepEqual(order, [...ids, ...ids, ...ids]);
    }));

    test('the per-account limit holds under 24 concurrent claimers on one store', run(async (m) => {
      await assertLimitHolds([m, m]);
    }));

    if (openTwins) test('the per-account limit holds under concurrent claimers on two stores over one database', async () => {
      const twins = await openTwins();
      try {
        await assertLimitHolds(twins);
      } finally {
        await twins[0].close();
        await twins[1].close();
      }
    });

    test('claim refuses a limit that is not a positive integer', run(async (m) => {
      await rejectsWith(m.builds.claim('w', { maxPerAccount: 0 }), 'INVALID', /positive integer/);
      await rejectsWith(m.builds.claim('w', { maxPerAccount: 1.5 }), 'INVALID');
      assert.equal(await m.builds.claim('w', { maxPerAccount: null }), null, 'null: first come, first served');
    }));

    test('queuePlace counts what is ahead, per account and overall, and the service\'s recent durations', run(async (m) => {
      const [a, b] = [await seed(m, 'alpha'), await seed(m, 'beta')];
      const [done] = await queue(m, a, 1);
      const c = await m.builds.claim('w0');
      await m.builds.update(done!.id, { status: 'succeeded', finishedAt: new Date(Date.parse(c!.startedAt!) + 90_000).toISOString() }, 'w0');
      const [b1] = await queue(m, b, 1);
      const [a1, a2] = await queue(m, a, 2);
      await m.builds.claim('w1'); // b1 runs
      const [b2] = await queue(m, b, 1);
      assert.deepEqual(await m.builds.queuePlace(a2!.id), {
        accountAhead: 1, globalAhead: 1,
        accounts: [{ accountId: a.accountId, queued: 2, running: 0 }, { accountId: b.accountId, queued: 1, running: 1 }].sort((x, y) => (x.accountId < y.accountId ? -1 : 1)),
        recentSeconds: [90],
      });
      const place = await m.builds.queuePlace(b2!.id);
      assert.deepEqual([place?.accountAhead, place?.globalAhead, place?.recentSeconds], [0, 2, []], 'durations are of the build\'s own service');
      assert.equal(await m.builds.queuePlace(b1!.id), null, 'a running build has no place in the queue');
      assert.equal(await m.builds.queuePlace('nope'), null);
      assert.equal((await m.builds.queuePlace(a1!.id))?.accountAhead, 0);
    }));
  });
}

/** Creates `n` builds of `s`'s api service, each created after the one before. */
async function queue(m: Metadata, s: Seed, n: number): Promise<Build[]> {
  const out: Build[] = [];
  for (let i = 0; i < n; i++) {
    await tick();
    out.push(await m.builds.create(buildInput(s)));
  }
  return out;
}

/** Claims with limit `maxPerAccount` until nothing is claimable; the builds in claim order. */
async function claimAll(m: Metadata, maxPerAccount: number): Promise<Build[]> {
  const out: Build[] = [];
  for (let c = await m.builds.claim(`w${out.length}`, { maxPerAccount }); c; c = await m.builds.claim(`w${out.length}`, { maxPerAccount })) out.push(c);
  return out;
}

/**
 * Three accounts queue 10, 10 and 1 builds; 24 claims race with a limit of 2, alternating between the two stores.
 * In the end exactly 2 + 2 + 1 builds are claimed, each once: no account ever runs more than 2.
 */
async function assertLimitHolds([x, y]: [Metadata, Metadata]): Promise<void> {
  const seeds = [await seed(x, 'alpha'), await seed(x, 'beta'), await seed(x, 'gamma')];
  await queue(x, seeds[0]!, 10);
  await queue(x, seeds[1]!, 10);
  await queue(x, seeds[2]!, 1);
  const claims = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? x : y).builds.claim(`w${i}`, { maxPerAccount: 2 })));
  const got = claims.filter((c): c is Build => c !== null);
  // A racing claimer that finds every account being decided on by others gives up (null) and polls again later:
  // claim on until nothing is claimable. Had the race exceeded a limit, the counts below would show it.
  for (let c = await x.builds.claim('after', { maxPerAccount: 2 }); c; c = await x.builds.claim('after', { maxPerAccount: 2 })) got.push(c);
  assert.equal(new Set(got.map((c) => c.id)).size, got.length, 'no build is handed out twice');
  const per = new Map<string, number>();
  for (const c of got) per.set(c.accountId, (per.get(c.accountId) ?? 0) + 1);
  assert.deepEqual(seeds.map((s) => per.get(s.accountId) ?? 0), [2, 2, 1]);
  assert.equal(await y.builds.claim('late', { maxPerAccount: 2 }), null, 'the other store sees the same counts');
}
