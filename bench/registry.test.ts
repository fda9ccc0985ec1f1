// Smoke test of the registry benchmark: `bench/registry.ts --quick` runs end to end (BuildGrid as a separate process,
// distribution 2.8, nginx, curl, wrk, skopeo), prints a complete table, and leaves no process or temp dir behind.
// It checks that the benchmark still works, not the numbers (quick mode on a shared CI machine measures nothing).

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { skipOrFail } from '../test/harness/require.ts';
import { pidsMatching, run, which } from '../test/harness/tools.ts';
import { summarizeProfile } from './lib/profile.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const missing = ['skopeo', 'curl', 'wrk', 'docker-registry'].filter((t) => !which(t));
const benchDirs = (): Set<string> => new Set(readdirSync('/tmp').filter((d) => d.startsWith('bgbench-')));

test('bench/registry.ts --quick prints the full comparison table and cleans up', { timeout: 180_000 }, async (t) => {
  if (missing.length) return skipOrFail(t, 'bench-tools', `not installed: ${missing.join(', ')} (scripts/install.sh installs them)`);
  const before = benchDirs();
  const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/registry.ts'), '--quick', '--out', 'none'], { cwd: ROOT, timeoutMs: 170_000 });
  assert.equal(r.code, 0, `benchmark failed:\n${r.stderr.slice(-4000)}`);
  const out = r.stdout;
  assert.match(out, /\| metric \| BuildGrid \| distribution 2\.8 \| bare file server¹ \| BuildGrid vs aim \|/);
  for (const row of [
    /blob GET, 1 stream/, /blob GET, 8 concurrent streams/,
    /manifest GET, Bearer auth, 4 connections/, /manifest GET, Bearer auth, 64 connections/,
    /manifest GET, Basic auth, 4 connections/, /manifest GET, Basic auth, 64 connections/,
    /skopeo copy \(pull → oci: dir\), busybox/, /skopeo copy \(pull → oci: dir\), 1 × \d+ MiB layer/, /skopeo copy \(pull → oci: dir\), \d+ layers/,
    /server peak RSS/, /server CPU per GB served/, /server CPU per manifest GET, Bearer, 64 connections/,
  ]) {
    assert.match(out, row);
  }
  const tableRows = out.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| metric'));
  assert.equal(tableRows.length, 16, out);
  for (const l of tableRows) assert.doesNotMatch(l, /n\/a/, `a cell has no value: ${l}`);
  assert.match(out, /Machine: \d+ CPUs/);
  // Cleanup: no new temp dir left, no process still running from one.
  const leftover = [...benchDirs()].filter((d) => !before.has(d));
  assert.deepEqual(leftover, [], 'temp dirs left behind');
  for (const d of leftover) assert.deepEqual(pidsMatching(`/tmp/${d}`), []);
});

test('summarizeProfile keeps only the last seconds and groups self time by source', () => {
  const nodes = [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 } },
    { id: 2, callFrame: { functionName: 'executeQuery', url: 'file:///x/node_modules/kysely/dist/esm/d.js', lineNumber: 59 } },
    { id: 3, callFrame: { functionName: 'dispatch', url: `file://${ROOT}/src/registry/server.ts`, lineNumber: 0 } },
    { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: 0 } },
  ];
  // 1 s of start-up in dispatch, then 2 s split 3:1 between executeQuery and dispatch, 1 idle sample.
  const samples = [3, 3, 2, 2, 2, 3, 4];
  const timeDeltas = [0, 1_000_000, 500_000, 300_000, 300_000, 300_000, 300_000];
  const s = summarizeProfile({ nodes, samples, timeDeltas }, 5, 1.6);
  assert.match(s, /busy samples: 4 \(idle 1/);
  assert.match(s, /75\.0%\s+executeQuery/);
  assert.match(s, /25\.0%\s+dispatch\s+src\/registry\/server\.ts:1/);
  assert.match(s, /75\.0%\s+npm:kysely/);
});
