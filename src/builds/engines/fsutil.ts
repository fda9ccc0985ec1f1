// Filesystem helpers of the build engines: removing trees that tools may have left mounted, safe path segments.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { runProcess } from './process.ts';

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first — the order to unmount them in. */
export function mountsUnder(dir: string): string[] {
  let info = '';
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const prefix = dir.endsWith('/') ? dir : dir + '/';
  const points = new Set<string>();
  for (const line of info.split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const mp = f[4]!.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp === dir || mp.startsWith(prefix)) points.add(mp);
  }
  return [...points].sort((a, b) => b.length - a.length);
}

/**
 * Removes `dir` recursively even when a killed tool left something mounted below it (lazy unmounts first, deepest
 * first, repeated because a path can be mounted over several times). Contract: never throws for a missing dir;
 * rejects only when the final removal fails.
 */
export async function removeTree(dir: string): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const mps = mountsUnder(dir);
    if (mps.length === 0) break;
    for (const mp of mps) await runProcess('umount', ['-l', mp], { timeoutMs: 10_000 }).catch(() => undefined);
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/**
 * `key` as a single, harmless path segment: kept as is when it is a short `[A-Za-z0-9][A-Za-z0-9._-]*`, otherwise
 * replaced by `k-<first 32 hex of sha256(key)>` (stable, so the same key always maps to the same directory).
 */
export function safeSegment(key: string, maxLen = 100): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(key) && key.length <= maxLen) return key;
  return `k-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/**
 * Serializes async work per key inside this process: `run(key, fn)` starts `fn` once every earlier `fn` of the same
 * key has settled; different keys run in parallel. Waiting honours `signal` (rejects with `onAbort()`'s error and
 * leaves the queue intact).
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>, opts: { signal?: AbortSignal; onAbort?: () => Error } = {}): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    try {
      await waitOrAbort(prev, opts.signal, opts.onAbort);
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** True while some work for `key` runs or waits. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }
}

async function waitOrAbort(p: Promise<void>, signal?: AbortSignal, onAbort?: () => Error): Promise<void> {
  if (!signal) return p;
  const err = (): Error => (onAbort ? onAbort() : new Error('aborted'));
  if (signal.aborted) throw err();
  let listener!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    listener = () => reject(err());
    signal.addEventListener('abort', listener, { once: true });
  });
  try {
    await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', listener);
  }
}
