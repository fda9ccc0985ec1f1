// Smoke test of the cluster benchmark: `bench/cluster.ts --quick` runs end to end (PostgreSQL, s3rver, two BuildGrid
// nodes, nginx, wrk, curl), prints a complete table for both blob stores, and leaves no process or temp dir behind.
// It checks that the benchmark still works, not the numbers (quick mode on a shared CI machine measures nothing).

import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipOrFail } from '../test/harness/require.ts';
import { pidsMatching, run, which } from '../test/harness/tools.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pgAvailable = Boolean(process.env.BUILDGRID_TEST_DATABASE_URL) || existsSync('/usr/lib/postgresql');
const missing = [...['skopeo', 'curl', 'wrk'].filter((t) => !which(t)), ...(which('nginx') || which('/usr/sbin/nginx') ? [] : ['nginx']), ...(pgAvailable ? [] : ['postgresql'])];
const benchDirs = (): Set<string> => new Set(readdirSync('/tmp').filter((d) => d.startsWith('bgcluster-')));

test('bench/cluster.ts --quick prints one node vs two for both blob stores and cleans up', { timeout: 240_000 }, async (t) => {
  if (missing.length) return skipOrFail(t, 'bench-tools', `not installed: ${missing.join(', ')} (scripts/install.sh installs them)`);
  const before = benchDirs();
  const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/cluster.ts'), '--quick', '--out', 'none'], { cwd: ROOT, timeoutMs: 230_000 });
  assert.equal(r.code, 0, `benchmark failed:\n${r.stderr.slice(-4000)}`);
  const out = r.stdout;
  assert.match(out, /\| backends \| metric \| 1 node \| 2 nodes \| 2 nodes vs 1 \|/);
  const rows = out.split('\n').filter((l) => l.startsWith('| PostgreSQL'));
  assert.equal(rows.length, 8, out);
  for (const store of ['PostgreSQL + S3 (s3rver)', 'PostgreSQL + shared directory']) {
    for (const metric of [/manifest GET, Bearer auth/, /manifest GET, Basic auth/, /blob GET, 1 stream/, /blob GET, 8 concurrent streams/]) {
      assert.ok(rows.some((l) => l.startsWith(`| ${store} |`) && metric.test(l)), `missing ${store} ${metric}:\n${out}`);
    }
  }
  for (const l of rows) {
    const cells = l.split('|').map((c) => c.trim());
    for (const v of [cells[3], cells[4]]) assert.ok(Number(v!.replace(/,/g, '')) > 0, `a cell has no value: ${l}`);
  }
  // Both nodes did work in the two-node samples (the balancer really spread the load).
  for (const m of out.matchAll(/node A used ([\d.]+) cores and node B ([\d.]+) cores/g)) {
    assert.ok(Number(m[1]) > 0 && Number(m[2]) > 0, `a node was idle: ${m[0]}`);
  }
  assert.equal([...out.matchAll(/node A used/g)].length, 2, out);
  const leftover = [...benchDirs()].filter((d) => !before.has(d));
  assert.deepEqual(leftover, [], 'temp dirs left behind');
  for (const d of leftover) assert.deepEqual(pidsMatching(`/tmp/${d}`), []);
});
