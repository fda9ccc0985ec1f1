import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isAppError } from '../../core/errors.ts';
import { LineSplitter, isCancelled, makeRedactor, runChecked, runProcess } from './process.ts';

const split = (chunks: Array<string | Buffer>): string[] => {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l));
  for (const c of chunks) s.push(c);
  s.end();
  return out;
};

test('LineSplitter: partial lines, CRLF, \\r progress redraws, multi-byte characters split across chunks', () => {
  assert.deepEqual(split(['ab', 'c\nde', 'f\n', 'tail']), ['abc', 'def', 'tail']);
  assert.deepEqual(split(['one\r\ntwo\r\n']), ['one', 'two']);
  assert.deepEqual(split(['10%\r20%\r', '30%\rdone\n']), ['done']);
  assert.deepEqual(split(['progress 50%\r\n']), ['progress 50%']);
  const euro = Buffer.from('€ ok\n');
  assert.deepEqual(split([euro.subarray(0, 1), euro.subarray(1, 2), euro.subarray(2)]), ['€ ok']);
  assert.deepEqual(split(['']), []);
});

test('LineSplitter: an endless \\r progress bar keeps memory bounded', () => {
  const out: string[] = [];
  const s = new LineSplitter((l) => out.push(l));
  for (let i = 0; i < 20_000; i++) s.push(`copying ${i} of 20000\r`);
  s.push('\n');
  assert.deepEqual(out, ['copying 19999 of 20000']);
});

test('makeRedactor replaces secrets (longest first) and ignores very short ones', () => {
  const r = makeRedactor(['hunter22', 'hunter22-long', 'ab', '']);
  assert.equal(r('pw=hunter22-long and hunter22; ab stays'), 'pw=*** and ***; ab stays');
});

test('runProcess streams stdout and stderr lines in order, redacts, keeps a tail', async () => {
  const lines: Array<[string, string]> = [];
  const r = await runProcess('sh', ['-c', 'echo out1; echo err1 >&2; printf "s3cr3t-token partial"; exit 3'], {
    onLine: (l, s) => lines.push([s, l]),
    secrets: ['s3cr3t-token'],
    tailLines: 2,
  });
  assert.equal(r.code, 3);
  assert.deepEqual(lines.filter(([s]) => s === 'stdout').map(([, l]) => l), ['out1', '*** partial']);
  assert.deepEqual(lines.filter(([s]) => s === 'stderr').map(([, l]) => l), ['err1']);
  assert.equal(r.tail.length, 2);
});

test('runChecked turns a non-zero exit into AppError INVALID naming the last line', async () => {
  await assert.rejects(runChecked('sh', ['-c', 'echo first; echo "the real reason" >&2; exit 2'], { what: 'tool x' }), (e: unknown) => {
    assert.ok(isAppError(e, 'INVALID'));
    assert.match(e.message, /tool x failed \(exit 2\): the real reason/);
    return true;
  });
  const ok = await runChecked('true', []);
  assert.equal(ok.code, 0);
});

test('a missing command rejects with AppError INVALID "command not found"', async () => {
  await assert.rejects(runProcess('/nonexistent/tool-xyz', []), (e: unknown) => isAppError(e, 'INVALID') && /command not found/.test(e.message));
});

test('abort kills the whole process tree (also children that ignore SIGTERM) and rejects as cancelled', async () => {
  const ac = new AbortController();
  const lines: string[] = [];
  // The child shell ignores TERM and starts a grandchild; both must die (TERM, then KILL after the grace period).
  const p = runProcess('sh', ['-c', 'trap "" TERM; sleep 60 & echo "child $!"; wait'], {
    signal: ac.signal,
    killGraceMs: 300,
    onLine: (l) => lines.push(l),
  });
  while (!lines.some((l) => l.startsWith('child '))) await new Promise((r) => setTimeout(r, 20));
  const grandchild = Number(lines.find((l) => l.startsWith('child '))!.slice(6));
  const t0 = Date.now();
  ac.abort();
  await assert.rejects(p, (e: unknown) => isCancelled(e));
  assert.ok(Date.now() - t0 < 3_000, `took ${Date.now() - t0} ms`);
  assert.equal(alive(grandchild), false, 'grandchild sleep must be gone');
});

test('timeout kills the tree and rejects with detail.timedOut', async () => {
  await assert.rejects(runProcess('sleep', ['30'], { timeoutMs: 200, what: 'sleepy' }), (e: unknown) => {
    assert.ok(isAppError(e, 'INVALID'));
    assert.match(e.message, /sleepy timed out/);
    assert.equal((e.detail as { timedOut: boolean }).timedOut, true);
    return true;
  });
});

test('an already aborted signal never starts the process', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(runProcess('sh', ['-c', 'exit 0'], { signal: ac.signal }), (e: unknown) => isCancelled(e));
});

test('background children left behind by a tool that exits are killed, and the promise still settles', async () => {
  const lines: string[] = [];
  const t0 = Date.now();
  const r = await runProcess('sh', ['-c', 'sleep 60 & echo "bg $!"; exit 0'], { onLine: (l) => lines.push(l) });
  assert.equal(r.code, 0);
  assert.ok(Date.now() - t0 < 5_000);
  const bg = Number(lines.find((l) => l.startsWith('bg '))!.slice(3));
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(alive(bg), false);
});

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
