import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../harness/tools.ts';

// bin/buildgrid.mjs run directly (as scripts/start.sh, `npm start` and the image run it): its #! line must reach a
// node process that carries the memory settings, and that process must be the one serving (no wrapper left behind).
const BIN = fileURLToPath(new URL('../../bin/buildgrid.mjs', import.meta.url));

test('bin/buildgrid.mjs executed directly serves from one node process with the memory settings of its #! line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-launch-'));
  const port = await freePort();
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BUILDGRID_') && k !== 'MALLOC_MMAP_THRESHOLD_'));
  const child = spawn(BIN, ['serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data')], {
    env: { ...env, BUILDGRID_LOG_LEVEL: 'warn', BUILDGRID_ADMIN_PASSWORD: 'launcher-test-password' }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  try {
    let up = false;
    for (let i = 0; i < 150 && !up && child.exitCode === null; i++) {
      up = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (!up) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(up, `serve did not come up: ${stderr}`);
    // env -S exec'ed node in place: the pid we started is node itself, with the flag and the variable.
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    assert.match(cmdline[0]!, /(^|\/)node$/);
    assert.ok(cmdline.includes('--max-semi-space-size=2'), cmdline.join(' '));
    assert.ok(readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0').includes('MALLOC_MMAP_THRESHOLD_=4194304'));
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
});
