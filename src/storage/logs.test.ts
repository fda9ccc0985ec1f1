import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsLogStore } from './logs.ts';

test('log lines are numbered, read back after a line number, and survive a new store instance', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bg-logs-'));
  try {
    const a = createFsLogStore({ root });
    await a.append('b1', [{ text: 'one', phase: 'fetching' }, { text: 'two' }]);
    await Promise.all([a.append('b1', [{ text: 'three' }]), a.append('b1', [{ text: 'four' }])]);
    assert.deepEqual((await a.read('b1', 0, 10)).map((l) => [l.n, l.text]), [[1, 'one'], [2, 'two'], [3, 'three'], [4, 'four']]);
    assert.deepEqual((await a.read('b1', 2, 1)).map((l) => l.text), ['three']);
    const b = createFsLogStore({ root });
    const more = await b.append('b1', [{ text: 'five' }]);
    assert.equal(more[0]!.n, 5);
    assert.deepEqual(await b.read('unknown', 0, 10), []);
    await assert.rejects(b.read('../etc/passwd', 0, 1), /invalid build id/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a log that reaches its cap gets one truncation mark and drops later output', async () => {
  const root = mkdtempSync(join(tmpdir(), 'bg-logs-'));
  try {
    const s = createFsLogStore({ root, maxBytes: 100 });
    await s.append('b2', Array.from({ length: 5 }, (_, i) => ({ text: `line-${i}-${'x'.repeat(10)}` })));
    await s.append('b2', [{ text: 'y'.repeat(80) }, { text: 'never stored' }]);
    const after = await s.append('b2', [{ text: 'also dropped' }]);
    assert.deepEqual(after, []);
    const lines = await s.read('b2', 0, 100);
    assert.equal(lines.at(-1)!.phase, 'truncated');
    assert.match(lines.at(-1)!.text, /log truncated: it reached 100 bytes/);
    assert.equal(lines.filter((l) => l.phase === 'truncated').length, 1);
    assert.ok(!lines.some((l) => l.text === 'never stored'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
