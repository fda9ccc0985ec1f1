// Small process / filesystem helpers shared by the real-client integration tests and benchmarks.
//
// Everything here is self-contained (node built-ins only) so that the harness keeps working while src/ changes.
// Rule for every helper that starts something: it returns a way to stop it, and the stop also removes temp dirs.
// As a safety net, long-lived processes started with `startDaemon` are also SIGKILLed when the Node process exits.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants as fsConstants, createWriteStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunOptions {
  cwd?: string;
  /** Extra environment variables, merged over process.env (unless `replaceEnv`). */
  env?: Record<string, string | undefined>;
  /** Use `env` as the whole environment instead of merging it over process.env. */
  replaceEnv?: boolean;
  /** Written to the child's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  /** Kill (SIGKILL, whole process group) after this many ms; the result then has `timedOut: true`. Default 120 000. */
  timeoutMs?: number;
  /** Aborting kills the child (SIGKILL, whole process group); the promise then resolves with `aborted: true`. */
  signal?: AbortSignal;
  /** Cap on captured stdout/stderr (each); the excess is dropped. Default 16 MiB. */
  maxOutputBytes?: number;
}

export interface RunResult {
  /** Exit code, or null if the process died from a signal. */
  code: number | null;
  /** Signal that ended the process, if any. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

/**
 * Runs `cmd args` to completion and captures its output.
 * Contract: never rejects because of the exit status (inspect `code`); rejects only when the program cannot be
 * started at all (e.g. ENOENT). The child gets its own process group, so a timeout / abort also kills whatever it
 * spawned. No shell is involved (args are passed verbatim).
 */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const maxOut = opts.maxOutputBytes ?? 16 * 1024 * 1024;
  return new Promise<RunResult>((resolve, reject) => {
    const spawnOpts: SpawnOptions = {
      cwd: opts.cwd,
      env: mergeEnv(opts.env, opts.replaceEnv),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true, // own process group, so we can kill the whole tree
    };
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, spawnOpts);
    } catch (err) {
      reject(err);
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout!.on('data', (b: Buffer) => {
      if (outLen < maxOut) out.push(b);
      outLen += b.length;
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (errLen < maxOut) err.push(b);
      errLen += b.length;
    });
    let timedOut = false;
    let aborted = false;
    const killTree = (): void => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          try {
            child.kill('SIGKILL');
          } catch {
            /* already gone */
          }
        }
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killTree();
    }, opts.timeoutMs ?? 120_000);
    const onAbort = (): void => {
      aborted = true;
      killTree();
    };
    if (opts.signal) {
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });
    }
    child.once('error', (e) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
        aborted,
        durationMs: Date.now() - started,
      });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {
        /* child may exit without reading stdin */
      });
      child.stdin!.end(opts.input);
    }
  });
}

/**
 * Like `run`, but rejects with an Error carrying the command line, exit status and the tail of stderr/stdout
 * when the exit code is not 0. Resolves with the same RunResult otherwise.
 */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `command failed (code=${r.code} signal=${r.signal}${r.timedOut ? ' TIMED OUT' : ''}${r.aborted ? ' ABORTED' : ''}): ` +
        `${cmd} ${args.join(' ')}\n--- stderr ---\n${tail(r.stderr, 4000)}\n--- stdout ---\n${tail(r.stdout, 2000)}`,
    );
  }
  return r;
}

/**
 * Returns a TCP port that was free on 127.0.0.1 a moment ago (bind to port 0, read it, close).
 * Contract: racy by nature — another process may grab the port before the caller binds it; callers that start a
 * server on it should treat "address in use" as retryable.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('freePort: no port'))));
    });
  });
}

export interface TempDir {
  path: string;
  /** Removes the directory recursively (idempotent, never throws for a missing dir). */
  cleanup(): Promise<void>;
}

/**
 * Creates a fresh directory `/tmp/<prefix>XXXXXX` (short on purpose: unix socket paths must stay < 108 bytes).
 * Contract: the caller owns it and must call cleanup(); nothing removes it automatically.
 */
export async function tempDir(prefix = 'bg-'): Promise<TempDir> {
  const path = await mkdtemp(join('/tmp', prefix));
  return {
    path,
    cleanup: () => rm(path, { recursive: true, force: true, maxRetries: 3 }),
  };
}

/** Absolute path of the first executable named `cmd` in PATH (or `cmd` itself if it contains '/'), else null. */
export function which(cmd: string): string | null {
  const isExec = (p: string): boolean => {
    try {
      accessSync(p, fsConstants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return isExec(cmd) ? cmd : null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    if (isExec(p)) return p;
  }
  return null;
}

/**
 * Polls `probe` every `intervalMs` until it returns a truthy value (which is returned) or `timeoutMs` elapses
 * (then rejects with `describe()` appended to the message). Exceptions thrown by probe count as "not yet".
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string; describe?: () => Promise<string> | string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) {
      const extra = opts.describe ? await opts.describe() : '';
      throw new Error(
        `timed out after ${opts.timeoutMs ?? 30_000} ms waiting for ${opts.what ?? 'condition'}` +
          (lastErr ? ` (last error: ${String(lastErr)})` : '') +
          (extra ? `\n${extra}` : ''),
      );
    }
    await sleep(opts.intervalMs ?? 100);
  }
}

/** True if a process with this pid exists (zombies count as gone). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Pids of all live processes whose command line contains `needle` (from /proc; excludes this process). */
export function pidsMatching(needle: string): number[] {
  const pids: number[] = [];
  for (const ent of readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${ent}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle) && pidAlive(pid)) pids.push(pid);
    } catch {
      /* raced with exit */
    }
  }
  return pids;
}

/** Mount-aware tree removal: the build engines' helpers (one implementation for product and tests). */
export { mountsUnder, removeTree } from '../../src/builds/engines/fsutil.ts';

/** Kills (SIGKILL) every live process whose command line contains `needle`; returns the pids it signalled. */
export function killMatching(needle: string): number[] {
  const pids = pidsMatching(needle);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids;
}

export interface DaemonOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** stdout+stderr of the daemon are appended here (so failures can show the log). */
  logFile: string;
}

export interface Daemon {
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process has exited (with its exit code / signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until the process exits. */
  running(): boolean;
  /** Last `bytes` of the log file. */
  logTail(bytes?: number): Promise<string>;
  /**
   * SIGTERM, wait up to `graceMs` (default 10 000), then SIGKILL the whole process group. Idempotent; resolves once
   * the process has exited. Does not remove any directory (the owner of the temp dir does that).
   */
  stop(graceMs?: number): Promise<void>;
}

const liveDaemons = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Safety net only: a test that forgets stop() still must not leave daemons running after the test file exits.
  process.on('exit', () => {
    for (const c of liveDaemons) {
      try {
        if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
      } catch {
        try {
          c.kill('SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
}

/**
 * Starts a long-running process in its own process group with output going to `logFile`.
 * Contract: the caller must call stop(); as a safety net the process group is SIGKILLed when Node exits.
 * Rejects if the program cannot be spawned.
 */
export async function startDaemon(cmd: string, args: readonly string[], opts: DaemonOptions): Promise<Daemon> {
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  await new Promise<void>((res, rej) => {
    log.once('open', () => res());
    log.once('error', rej);
  });
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: mergeEnv(opts.env, false),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  await new Promise<void>((res, rej) => {
    child.once('spawn', () => res());
    child.once('error', rej);
  }).catch((e) => {
    log.end();
    throw e;
  });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  liveDaemons.add(child);
  installExitHook();
  let alive = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.once('close', (code, signal) => {
      alive = false;
      liveDaemons.delete(child);
      log.end();
      res({ code, signal });
    });
  });
  const killGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      try {
        child.kill(sig);
      } catch {
        /* gone */
      }
    }
  };
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid!,
    child,
    logFile: opts.logFile,
    exited,
    running: () => alive,
    logTail: async (bytes = 4000) => {
      try {
        return tail(await readFile(opts.logFile, 'utf8'), bytes);
      } catch {
        return '';
      }
    },
    stop: (graceMs = 10_000) => {
      stopping ??= (async () => {
        if (!alive) return;
        try {
          child.kill('SIGTERM');
        } catch {
          /* gone */
        }
        const t = setTimeout(() => killGroup('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
        killGroup('SIGKILL'); // anything left in the group (children that ignored the parent's exit)
      })();
      return stopping;
    },
  };
}

/** Last `n` characters of `s` (prefixed with an ellipsis when cut). */
export function tail(s: string, n: number): string {
  return s.length <= n ? s : '…' + s.slice(s.length - n);
}

function mergeEnv(env: Record<string, string | undefined> | undefined, replace: boolean | undefined): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = replace ? {} : { ...process.env };
  for (const [k, v] of Object.entries(env ?? {})) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}
