import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Build } from '../metadata/types.ts';
import type { BuildBackend } from './backend.ts';
import { countingSlots, createBuildSlots, createFairQueue, perAccountLimit } from './fairness.ts';

test('perAccountLimit: 0 turns fairness off, a number is taken as is, unset is half the slots, at least 1', () => {
  assert.equal(perAccountLimit(0, 8), null);
  assert.equal(perAccountLimit(3, 8), 3);
  assert.equal(perAccountLimit(undefined, 8), 4);
  assert.equal(perAccountLimit(undefined, 5), 2);
  assert.equal(perAccountLimit(undefined, 1), 1);
  assert.equal(perAccountLimit(undefined, 0), 1);
});

test('build slots: in-process slots always count; a remote slot counts for a window after it was last seen', () => {
  let now = 1_000_000;
  const slots = createBuildSlots({ local: 2, windowMs: 60_000, now: () => now });
  assert.equal(slots.count(), 2);
  slots.seen('w:t1:host/0');
  slots.seen('w:t1:host/1');
  slots.seen('w:t1:host/0'); // the same slot again is one slot
  assert.equal(slots.count(), 4);
  now += 40_000;
  slots.seen('w:t1:host/1'); // host/1 still polls, host/0 went quiet
  now += 30_000;
  assert.equal(slots.count(), 3, 'host/0 was last seen 70 s ago: forgotten');
  now += 30_001;
  assert.equal(slots.count(), 2);
});

test('the fair queue\'s limit follows the slots it sees', () => {
  let now = 0;
  const fair = createFairQueue({ configured: undefined, local: 0, windowMs: 10_000, now: () => now });
  assert.equal(fair.maxPerAccount(), 1, 'no slots known yet: 1');
  for (let i = 0; i < 6; i++) fair.slots.seen(`w:t:h/${i}`);
  assert.equal(fair.maxPerAccount(), 3);
  now = 20_000;
  assert.equal(fair.maxPerAccount(), 1);
  assert.equal(createFairQueue({ configured: 0, local: 8, windowMs: 1 }).maxPerAccount(), null);
});

test('countingSlots counts the claims and heartbeats of remote slots and passes them on', async () => {
  const seen: string[] = [];
  const calls: string[] = [];
  const inner = {
    claim: async (w: string) => { calls.push(`claim ${w}`); return null; },
    heartbeat: async (_b: Build, w: string) => { calls.push(`beat ${w}`); return { owned: false, cancelRequested: false }; },
  } as unknown as BuildBackend;
  const b = countingSlots(inner, { seen: (w) => seen.push(w), count: () => seen.length });
  assert.equal(await b.claim('w:a:h/0'), null);
  assert.deepEqual(await b.heartbeat({ id: 'x' } as Build, 'w:a:h/1'), { owned: false, cancelRequested: false });
  assert.deepEqual(seen, ['w:a:h/0', 'w:a:h/1']);
  assert.deepEqual(calls, ['claim w:a:h/0', 'beat w:a:h/1']);
});
