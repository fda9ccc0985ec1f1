import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QueuePlace } from '../metadata/types.ts';
import { estimateQueue } from './queue-estimate.ts';

const NOW = Date.parse('2026-12-03T12:00:00.000Z');
const place = (p: Partial<QueuePlace>): QueuePlace => ({ accountAhead: 0, globalAhead: 0, accounts: [], recentSeconds: [60], ...p });

test('a burst from A: B\'s one build is next when A runs more than B; first come, first served puts it last', () => {
  // 4 slots, limit 2: A runs 2 and has 28 queued; B's build came after all of them.
  const p = place({ accountAhead: 0, globalAhead: 28, accounts: [{ accountId: 'A', queued: 28, running: 2 }, { accountId: 'B', queued: 1, running: 0 }] });
  const fair = estimateQueue(p, { accountId: 'B', slots: 4, maxPerAccount: 2, now: NOW });
  assert.deepEqual(fair, { position: 1, accountPosition: 1, estimatedWaitSeconds: 0, estimatedStartAt: new Date(NOW).toISOString() });
  const fifo = estimateQueue(p, { accountId: 'B', slots: 4, maxPerAccount: null, now: NOW });
  assert.equal(fifo.position, 29);
  // 2 running + 28 ahead on 4 slots: 27 must finish, 4 at a time = 7 rounds of 60 s.
  assert.equal(fifo.estimatedWaitSeconds, 7 * 60);
});

test('A\'s own builds wait for A\'s limit, and other accounts take a turn each round', () => {
  // A's 5th queued build (4 of A's ahead); A runs 2 of its limit 2; B has 3 queued and runs 1; C has 1 queued.
  const p = place({
    accountAhead: 4, globalAhead: 6, recentSeconds: [30, 90],
    accounts: [{ accountId: 'A', queued: 6, running: 2 }, { accountId: 'B', queued: 3, running: 1 }, { accountId: 'C', queued: 1, running: 0 }],
  });
  const e = estimateQueue(p, { accountId: 'A', slots: 8, maxPerAccount: 2, now: NOW });
  assert.equal(e.accountPosition, 5);
  assert.equal(e.position, 4 + 3 + 1 + 1, 'own 4, all 3 of B (≤ 5 turns), C\'s 1, then this one');
  // Slots: 3 running + 8 ahead − 8 + 1 = 4 finishes on 8 slots = 1 round. Account: 2 + 4 − 2 + 1 = 5 of A's own, 2 at a
  // time = 3 rounds. D = 60 s.
  assert.equal(e.estimatedWaitSeconds, 180);
  assert.equal(e.estimatedStartAt, new Date(NOW + 180_000).toISOString());
});

test('no history or no known slot: position without a time', () => {
  const accounts = [{ accountId: 'A', queued: 1, running: 0 }];
  assert.equal(estimateQueue(place({ accounts, recentSeconds: [] }), { accountId: 'A', slots: 2, maxPerAccount: 1, now: NOW }).estimatedWaitSeconds, null);
  const noSlots = estimateQueue(place({ accounts }), { accountId: 'A', slots: 0, maxPerAccount: 1, now: NOW });
  assert.deepEqual(noSlots, { position: 1, accountPosition: 1, estimatedWaitSeconds: null, estimatedStartAt: null });
});
