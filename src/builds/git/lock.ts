import { hostname } from 'node:os';
import { open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../core/errors.ts';

/**
 * One writer per mirror. Two layers:
 *  - in this process, a promise chain per lock path: callers run strictly one after another, in arrival order;
 *  - across processes sharing the cache directory (several `buildgrid worker`s on one host, or a shared volume), a lock
 *    file created with O_EXCL holding {pid, host}. Its holder touches it every 30 s. A lock is stale when its process
 *    is gone (same host) or it has not been touched for 5 minutes (another host), and is then taken over.
 * Taking over a stale lock reads, then unlinks it; two processes doing so in the same millisecond could both win. That
 * window needs a crashed holder plus two new contenders at once, and git's own ref locks still stop real corruption.
 */

const chains = new Map<string, Promise<void>>();
const HEARTBEAT_MS = 30_000;
const STALE_MS = 5 * 60_000;
const MAX_WAIT_MS = 60 * 60_000;

/**
 * Runs `fn` holding the lock at `lockPath`; waits for earlier holders. Rejects when `signal` fires while waiting
 * (the same AbortError-named AppError git runs use) and with AppError INVALID after an hour of waiting.
 */
export async function withLock<T>(lockPath: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => { release = resolve; });
  const tail = previous.then(() => mine);
  chains.set(lockPath, tail);
  try {
    await untilAborted(previous, signal);
    const unlock = await lockFile(lockPath, signal);
    try {
      return await fn();
    } finally {
      await unlock();
    }
  } finally {
    release();
    if (chains.get(lockPath) === tail) chains.delete(lockPath);
  }
}

async function lockFile(path: string, signal: AbortSignal | undefined): Promise<() => Promise<void>> {
  const me = JSON.stringify({ pid: process.pid, host: hostname() });
  const started = Date.now();
  for (;;) {
    throwIfAborted(signal);
    try {
      const fh = await open(path, 'wx', 0o600);
      try { await fh.writeFile(me); } finally { await fh.close(); }
      const beat = setInterval(() => { utimes(path, new Date(), new Date()).catch(() => {}); }, HEARTBEAT_MS);
      beat.unref();
      return async () => {
        clearInterval(beat);
        await unlink(path).catch(() => {});
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readFile(path, 'utf8').catch(() => null);
    if (holder !== null && (await isStale(path, holder))) {
      if ((await readFile(path, 'utf8').catch(() => null)) === holder) await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() - started > MAX_WAIT_MS) {
      throw new AppError('INVALID', `the git cache ${path} has been locked for an hour by ${holder}; if no build is running, delete that file`);
    }
    await sleep(100 + Math.random() * 150, undefined, { signal }).catch(() => throwIfAborted(signal));
  }
}

async function isStale(path: string, content: string): Promise<boolean> {
  let holder: { pid?: unknown; host?: unknown } = {};
  try { holder = JSON.parse(content); } catch { /* half-written: judge by age */ }
  if (holder.host === hostname() && typeof holder.pid === 'number') {
    if (holder.pid === process.pid) return false; // ours, another chain (different path spelling): wait
    try { process.kill(holder.pid, 0); return false; } catch (e) { return (e as NodeJS.ErrnoException).code === 'ESRCH'; }
  }
  const st = await stat(path).catch(() => null);
  return st !== null && Date.now() - st.mtimeMs > STALE_MS;
}

function untilAborted(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  throwIfAborted(signal);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(abortError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(() => { signal.removeEventListener('abort', onAbort); resolve(); });
  });
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError();
}

function abortError(): AppError {
  const err = new AppError('INVALID', 'waiting for the git cache was cancelled');
  err.name = 'AbortError';
  return err;
}
