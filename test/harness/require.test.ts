// BUILDGRID_TEST_REQUIRE turns a skip for want of a real part into a failure, and only for the parts it names. Each
// case runs a small test file through node's real test runner in a child process and reads its TAP report.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requiredParts } from './require.ts';
import { run } from './tools.ts';

const dir = mkdtempSync(join(tmpdir(), 'bg-require-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const helper = fileURLToPath(new URL('./require.ts', import.meta.url));
const fixture = join(dir, 'fixture.test.ts');
writeFileSync(fixture, `import { test } from 'node:test';
import { partMissing, skipOrFail } from ${JSON.stringify(helper)};
test('needs dockerd', (t) => skipOrFail(t, 'dockerd', 'missing binaries: dockerd'));
test('needs chromium', (t) => skipOrFail(t, 'chromium', '/usr/bin/chromium is missing'));
test('falls back without postgres', () => partMissing('postgres', 'the PostgreSQL variant', 'no initdb'));
`);

/** Runs the fixture with BUILDGRID_TEST_REQUIRE=`require` (unset when undefined): exit code, TAP and stderr. */
async function runFixture(require: string | undefined): Promise<{ code: number | null; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, BUILDGRID_TEST_REQUIRE: require };
  if (require === undefined) delete env.BUILDGRID_TEST_REQUIRE;
  delete env.NODE_TEST_CONTEXT; // set by the runner around us: with it the child would refuse to run its file
  const r = await run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], { env, replaceEnv: true, cwd: process.cwd(), timeoutMs: 120_000 });
  return { code: r.code, out: r.stdout, err: r.stderr };
}

/** The TAP verdict of each top-level test: `ok`, `SKIP` or `not ok`. */
function verdicts(tap: string): Record<string, string> {
  const v: Record<string, string> = {};
  for (const m of tap.matchAll(/^(ok|not ok) \d+ - (.+?)(?: # SKIP.*)?$/gm)) v[m[2]!] = m[0].includes('# SKIP') ? 'SKIP' : m[1]!;
  return v;
}

test('without BUILDGRID_TEST_REQUIRE a missing part skips loudly and the run passes', async () => {
  const r = await runFixture(undefined);
  assert.equal(r.code, 0, r.out + r.err);
  assert.deepEqual(verdicts(r.out), { 'needs dockerd': 'SKIP', 'needs chromium': 'SKIP', 'falls back without postgres': 'ok' });
  assert.match(r.out, /# SKIP dockerd unavailable: missing binaries: dockerd/);
  // The banner (the runner passes a file's stderr on, as TAP comments).
  for (const part of ['dockerd', 'chromium', 'postgres']) assert.match(r.out + r.err, new RegExp(`!!! SKIPPED for want of ${part}`));
});

test('BUILDGRID_TEST_REQUIRE=all fails every test that would have skipped, saying what to install', async () => {
  const r = await runFixture('all');
  assert.equal(r.code, 1, r.out + r.err);
  assert.deepEqual(verdicts(r.out), { 'needs dockerd': 'not ok', 'needs chromium': 'not ok', 'falls back without postgres': 'not ok' });
  assert.doesNotMatch(r.out, /# SKIP/);
  assert.match(r.out, /needs dockerd needs dockerd \(a private Docker Engine.*BUILDGRID_TEST_REQUIRE requires, but it is missing here: missing binaries: dockerd/);
  assert.match(r.out, /scripts\/install\.sh installs every part/);
});

test('a list requires only the parts it names', async () => {
  const r = await runFixture('chromium, postgres');
  assert.equal(r.code, 1, r.out + r.err);
  assert.deepEqual(verdicts(r.out), { 'needs dockerd': 'SKIP', 'needs chromium': 'not ok', 'falls back without postgres': 'not ok' });
});

test('a misspelt part is refused, never read as "nothing required"', () => {
  assert.throws(() => requiredParts({ BUILDGRID_TEST_REQUIRE: 'docker' }), /unknown part\(s\) docker: use `all` or a comma-separated list of dockerd, chromium, postgres/);
  assert.deepEqual([...requiredParts({})], []);
  assert.deepEqual([...requiredParts({ BUILDGRID_TEST_REQUIRE: 'all' })].sort(), ['base-image', 'bench-tools', 'chromium', 'dockerd', 'netns', 'postgres', 'umoci']);
});
