// Smoke test of the build benchmark: `bench/build.ts --quick` runs end to end (BuildGrid as a separate process, the
// `buildgrid deploy --wait` CLI, buildah by hand, skopeo), prints a complete table, and leaves no process or temp dir
// behind. It checks that the benchmark still works, not the numbers (quick mode on a shared machine measures nothing).

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pidsMatching, run, which } from '../test/harness/tools.ts';
import { parseOptions } from './build.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const missing = ['buildah', 'skopeo', 'git', 'unshare'].filter((t) => !which(t));
const notRoot = process.getuid?.() !== 0;
const benchDirs = (): Set<string> => new Set(readdirSync('/tmp').filter((d) => d.startsWith('bgbuild-')));

test('parseOptions: quick and full defaults', () => {
  const q = parseOptions(['--quick']);
  assert.equal(q.lanes, 1);
  assert.equal(q.out, null);
  const f = parseOptions(['--lanes', '2', '--asset-mib', '5']);
  assert.equal(f.lanes, 2);
  assert.equal(f.assetBytes, 5 * 1024 * 1024);
  assert.equal(f.out, join(ROOT, 'bench/results/build.md'));
  assert.equal(parseOptions(['--out', 'none']).out, null);
});

test(
  'bench/build.ts --quick prints the full comparison table and cleans up',
  { skip: missing.length ? `not installed: ${missing.join(', ')}` : notRoot ? 'needs root (buildah chroot isolation)' : false, timeout: 300_000 },
  async () => {
    const before = benchDirs();
    const pidsBefore = new Set(pidsMatching('/tmp/bgbuild-'));
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/build.ts'), '--quick', '--out', 'none'], { cwd: ROOT, timeoutMs: 290_000 });
    assert.equal(r.code, 0, `benchmark failed:\n${r.stderr.slice(-4000)}`);
    const out = r.stdout;
    assert.match(out, /\| scenario \| BuildGrid \(s\) \| by hand \(s\) \| BuildGrid ÷ by hand \| CPU s, BuildGrid \/ by hand \| vs aim \|/);
    for (const row of [/first build, cold caches/, /no-op redeploy \(same commit\)/, /no-op decision only/, /one-file rebuild \(warm layer cache\): BuildGrid reused \d+\/\d+/]) {
      assert.match(out, row);
    }
    const rows = out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| scenario'));
    assert.equal(rows.length, 4, out);
    for (const l of rows) assert.doesNotMatch(l, /n\/a/, `a cell has no value: ${l}`);
    assert.match(out, /Machine: \d+ CPUs/);
    assert.match(out, /buildah storage driver (overlay|vfs)/);
    const leftover = [...benchDirs()].filter((d) => !before.has(d));
    assert.deepEqual(leftover, [], 'temp dirs left behind');
    // The server, buildah and git all have the run's /tmp/bgbuild-… dir on their command line.
    const procs = pidsMatching('/tmp/bgbuild-').filter((p) => !pidsBefore.has(p));
    assert.deepEqual(procs, [], 'processes left running');
  },
);
