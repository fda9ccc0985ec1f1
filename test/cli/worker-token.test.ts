import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../support/cli.ts';

// A remote worker's token must never be on a command line (/proc/PID/cmdline is readable by every process of the
// machine, builds included): --token is refused with the two ways that work; --token-file must be private.
test('buildgrid worker refuses --token and says to use BUILDGRID_WORKER_TOKEN or --token-file', async () => {
  const r = await cli(['worker', '--server', 'http://127.0.0.1:9', '--token', 'bgw_secret-on-the-command-line']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--token is refused/);
  assert.match(r.stderr, /--token-file FILE, or set BUILDGRID_WORKER_TOKEN/);
});

test('buildgrid worker --token-file refuses a file others can read, and an empty one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bg-wt-'));
  try {
    const file = join(dir, 'token');
    writeFileSync(file, 'bgw_x\n');
    chmodSync(file, 0o644);
    const open = await cli(['worker', '--server', 'http://127.0.0.1:9', '--token-file', file]);
    assert.equal(open.code, 1);
    assert.match(open.stderr, /readable by others \(mode 644\)/);
    assert.match(open.stderr, /chmod 600/);
    writeFileSync(file, '\n');
    chmodSync(file, 0o600);
    const empty = await cli(['worker', '--server', 'http://127.0.0.1:9', '--token-file', file]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /is empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
