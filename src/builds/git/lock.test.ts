import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLock } from './lock.ts';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'bg-git-lock-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('holders of one lock run one at a time, in arrival order, and the lock file is gone afterwards', async () => {
  const path = join(dir, 'a.lock');
  const events: string[] = [];
  const job = (name: string, ms: number) => withLock(path, undefined, async () => {
    events.push(`start ${name}`);
    await sleep(ms);
    events.push(`end ${name}`);
    return name;
  });
  assert.deepEqual(await Promise.all([job('1', 60), job('2', 10), job('3', 0)]), ['1', '2', '3']);
  assert.deepEqual(events, ['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  await assert.rejects(access(path));
});

test('a failing holder releases the lock', async () => {
  const path = join(dir, 'b.lock');
  await assert.rejects(withLock(path, undefined, async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await withLock(path, undefined, async () => 'next'), 'next');
});

test('a lock file of another live process is waited for, and taken over once that process is gone', async () => {
  const path = join(dir, 'c.lock');
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  await writeFile(path, JSON.stringify({ pid: other.pid, host: hostname() }));
  let ran = false;
  const pending = withLock(path, undefined, async () => { ran = true; });
  await sleep(400);
  assert.equal(ran, false, 'waits while the holder lives');
  other.kill('SIGKILL');
  await new Promise((r) => other.once('close', r));
  await pending;
  assert.equal(ran, true);
});

test('aborting a waiter rejects it without blocking the ones behind it', async () => {
  const path = join(dir, 'd.lock');
  let release!: () => void;
  let started!: () => void;
  const holding = new Promise<void>((r) => { started = r; });
  const first = withLock(path, undefined, () => new Promise<void>((r) => { release = r; started(); }));
  await holding;
  const ac = new AbortController();
  const second = withLock(path, ac.signal, async () => 'never');
  const third = withLock(path, undefined, async () => 'third');
  ac.abort();
  await assert.rejects(second, { name: 'AbortError' });
  release();
  await first;
  assert.equal(await third, 'third');
});
