import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LogStore } from './logs.ts';

/** Storage for log stores under test: `open` makes a store instance (several share the storage), `cleanup` removes it. */
export interface LogStoreHarness {
  open(opts?: { maxBytes?: number }): LogStore;
  cleanup(): Promise<void>;
}

/** The behaviour every LogStore must have (filesystem and S3). `make` is called once per test, over empty storage. */
export function runLogStoreSuite(name: string, make: () => Promise<LogStoreHarness>): void {
  const it = (title: string, fn: (h: LogStoreHarness) => Promise<void>) =>
    test(title, async () => {
      const h = await make();
      try {
        await fn(h);
      } finally {
        await h.cleanup();
      }
    });

  describe(`LogStore contract: ${name}`, () => {
    it('log lines are numbered, read back after a line number, and survive a new store instance', async (h) => {
      const a = h.open();
      await a.append('b1', [{ text: 'one', phase: 'fetching' }, { text: 'two' }]);
      await Promise.all([a.append('b1', [{ text: 'three' }]), a.append('b1', [{ text: 'four' }])]);
      assert.deepEqual((await a.read('b1', 0, 10)).map((l) => [l.n, l.text]), [[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four']]);
      assert.deepEqual((await a.read('b1', 2, 1)).map((l) => l.text), ['three']);
      const b = h.open();
      const more = await b.append('b1', [{ text: 'five' }]);
      assert.equal(more[0]!.n, 5);
      assert.deepEqual((await a.read('b1', 3, 10)).map((l) => l.text), ['four', 'five'], 'another instance reads what this one wrote');
      assert.deepEqual(await b.read('unknown', 0, 10), []);
      await assert.rejects(b.read('../etc/passwd', 0, 1), /invalid build id/);
      await b.delete('b1');
      assert.deepEqual(await h.open().read('b1', 0, 10), []);
    });

    it('a named batch sent again (a retry after a lost answer, maybe to another node) is stored once', async (h) => {
      const a = h.open();
      const first = await a.append('b4', [{ text: 'one' }, { text: 'two' }], { batch: 'batch-aaaa' });
      assert.deepEqual(first.map((l) => [l.n, l.text]), [[1, 'one'], [2, 'two']]);
      assert.ok(!('b' in first[0]!), 'readers do not see batch names');
      assert.deepEqual(await a.append('b4', [{ text: 'one' }, { text: 'two' }], { batch: 'batch-aaaa' }), [], 'same instance');
      assert.deepEqual(await h.open().append('b4', [{ text: 'one' }, { text: 'two' }], { batch: 'batch-aaaa' }), [], 'another instance (node)');
      await a.append('b4', [{ text: 'three' }], { batch: 'batch-bbbb' });
      await a.append('b4', [{ text: 'four' }]); // unnamed appends are never deduplicated
      await a.append('b4', [{ text: 'four' }]);
      const lines = await h.open().read('b4', 0, 100);
      assert.deepEqual(lines.map((l) => [l.n, l.text]), [[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four'], [5, 'four']]);
      assert.ok(lines.every((l) => !('b' in l)), 'readers do not see batch names');
      assert.deepEqual(await h.open().append('b4', [{ text: 'three' }], { batch: 'batch-bbbb' }), [], 'the last named batch is remembered across unnamed ones');
    });

    it('a log that reaches its cap gets one truncation mark and drops later output', async (h) => {
      const s = h.open({ maxBytes: 100 });
      await s.append('b2', Array.from({ length: 5 }, (_, i) => ({ text: `line-${i}-${'x'.repeat(10)}` })));
      await s.append('b2', [{ text: 'y'.repeat(80) }, { text: 'never stored' }]);
      const after = await s.append('b2', [{ text: 'also dropped' }]);
      assert.deepEqual(after, []);
      const lines = await s.read('b2', 0, 100);
      assert.equal(lines.at(-1)!.phase, 'truncated');
      assert.match(lines.at(-1)!.text, /log truncated: it reached 100 bytes/);
      assert.equal(lines.filter((l) => l.phase === 'truncated').length, 1);
      assert.ok(!lines.some((l) => l.text === 'never stored'));
      assert.deepEqual(await h.open({ maxBytes: 100 }).append('b2', [{ text: 'after a restart too' }]), []);
    });

    it('long logs read back in order across pages', async (h) => {
      const s = h.open();
      for (let i = 0; i < 40; i++) await s.append('b3', Array.from({ length: 50 }, (_, j) => ({ text: `${i}:${j} ${'z'.repeat(200)}` })));
      const all = [];
      for (let after = 0, page; (page = await h.open().read('b3', after, 333)).length > 0; after = page.at(-1)!.n) all.push(...page);
      assert.deepEqual(all.map((l) => l.n), Array.from({ length: 2000 }, (_, i) => i + 1));
      assert.equal((await s.append('b3', [{ text: 'next' }]))[0]!.n, 2001);
      assert.equal((await h.open().append('b3', [{ text: 'from another node' }]))[0]!.n, 2002);
    });
  });
}
