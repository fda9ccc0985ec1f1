// Smoke test of the queue benchmark: `bench/queue.ts --burst 3` runs end to end (two BuildGrid processes, real buildah
// builds), prints the complete side-by-side table, and leaves no process or temp dir behind. It checks that the
// benchmark still works, not its numbers (three builds on a shared CI machine measure nothing).

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipOrFail } from '../test/harness/require.ts';
import { pidsMatching, run, which } from '../test/harness/tools.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const missing = ['skopeo', 'buildah', 'git'].filter((t) => !which(t));
const benchDirs = (): Set<string> => new Set(readdirSync('/tmp').filter((d) => d.startsWith('bgqueue-')));

test('bench/queue.ts --burst 3 prints fair queueing next to first come, first served and cleans up', { timeout: 400_000 }, async (t) => {
  if (missing.length) return skipOrFail(t, 'bench-tools', `not installed: ${missing.join(', ')} (scripts/install.sh installs them)`);
  if (process.getuid?.() !== 0) return skipOrFail(t, 'bench-tools', 'the queue benchmark builds with buildah, which needs root');
  const before = benchDirs();
  const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/queue.ts'), '--burst', '3', '--out', 'none'], { cwd: ROOT, timeoutMs: 390_000 });
  assert.equal(r.code, 0, `benchmark failed:\n${r.stderr.slice(-4000)}`);
  const out = r.stdout;
  assert.match(out, /\| \| fair queueing \(default\) \| first come, first served \|/);
  for (const row of [/per-account limit \| 1 \(half of 2 slots\) \| off \|/, /team-b waited for a worker \| [\d.]+ \| [\d.]+ \|/, /team-c waited for a worker \| [\d.]+ \| [\d.]+ \|/,
    /one build, median \(longest\)/, /waited at most one build \| (yes|no) \| (yes|no) \|/, /team-a: all 3 built after \| [\d.]+ \| [\d.]+ \|/]) {
    assert.match(out, row);
  }
  const leftover = [...benchDirs()].filter((d) => !before.has(d));
  assert.deepEqual(leftover, [], 'temp dirs left behind');
  assert.deepEqual(pidsMatching('/tmp/bgqueue-'), [], 'no BuildGrid or buildah process of the benchmark still runs');
});
