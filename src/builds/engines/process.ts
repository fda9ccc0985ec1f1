// Runs the external tools of the build engines (buildah, docker): no shell, output streamed line by line, the whole
// process tree killed on cancel / timeout, secrets redacted before any line leaves this module.

import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { AppError, isAppError } from '../../core/errors.ts';

export interface RunProcessOptions {
  cwd?: string;
  /** The child's COMPLETE environment (not merged over process.env; use `childEnv()` for that). */
  env?: NodeJS.ProcessEnv;
  /** Aborting kills the process tree and rejects with a cancellation AppError (see isCancelled). */
  signal?: AbortSignal;
  /** Kill the process tree and reject after this many ms. Default: none. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL of the process group when killing. Default 2 000 ms. */
  killGraceMs?: number;
  /** Receives every output line (stdout and stderr, each in order; redacted, without the line terminator). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Strings replaced by `***` in every line and in error messages. Strings shorter than 4 characters are ignored. */
  secrets?: readonly string[];
  /** How many of the last lines to keep for error messages. Default 50. */
  tailLines?: number;
  /** Written to stdin, which is then closed. Without it stdin is /dev/null. */
  input?: string | Buffer;
  /** Name used in error messages, e.g. "buildah bud". Default: the command. */
  what?: string;
}

export interface ProcessResult {
  /** Exit status, or null when the process died from a signal it did not get from us. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last `tailLines` output lines (redacted), oldest first. */
  tail: string[];
  durationMs: number;
}

/** A line longer than this (without a newline) is emitted in pieces, so a runaway tool cannot exhaust memory. */
const MAX_LINE = 64 * 1024;

/**
 * Spawns `cmd args` (an argument vector, never a shell) in its own process group and streams its output.
 * Contract:
 * - resolves with the exit status once the process has exited — whatever the status (check `code`; see runChecked);
 * - rejects with AppError INVALID when `cmd` cannot be started ("… not found: install …" for ENOENT), when `signal`
 *   aborts (detail `{ cancelled: true }`, message "<what> cancelled") or when `timeoutMs` elapses (detail
 *   `{ timedOut: true }`); in both of the latter the whole process group got SIGTERM, then SIGKILL after
 *   `killGraceMs`, and the promise settles only after the direct child has exited;
 * - after the child exits (in every case) whatever is left of its process group is SIGKILLed, so a tool's
 *   background children cannot outlive it (a child that starts its own session escapes this; buildah and the
 *   docker CLI do not);
 * - lines are split on `\n`; `\r\n` counts as one terminator; a `\r` on its own (progress redraw) keeps only the
 *   text after the last `\r` of the line, as a terminal would show it; a final unterminated line is emitted at exit;
 *   output is decoded as UTF-8 across chunk boundaries.
 */
export function runProcess(cmd: string, args: readonly string[], opts: RunProcessOptions = {}): Promise<ProcessResult> {
  const what = opts.what ?? cmd;
  const started = Date.now();
  const tailMax = opts.tailLines ?? 50;
  const tail: string[] = [];
  const redact = makeRedactor(opts.secrets ?? []);
  const emit = (raw: string, stream: 'stdout' | 'stderr'): void => {
    const line = redact(raw);
    tail.push(line);
    if (tail.length > tailMax) tail.shift();
    if (opts.onLine) {
      try {
        opts.onLine(line, stream);
      } catch {
        /* a failing log sink must not break the build */
      }
    }
  };

  return new Promise<ProcessResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(cancelledError(what));
      return;
    }
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true, // own process group: kill(-pid) reaches everything it spawned
    });
    const splitters = {
      stdout: new LineSplitter((l) => emit(l, 'stdout')),
      stderr: new LineSplitter((l) => emit(l, 'stderr')),
    };
    child.stdout!.on('data', (b: Buffer) => splitters.stdout.push(b));
    child.stderr!.on('data', (b: Buffer) => splitters.stderr.push(b));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // EPIPE when the tool does not read its input
      child.stdin!.end(opts.input);
    }

    let stopReason: 'cancelled' | 'timedOut' | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    let exited = false;
    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        try {
          if (!exited) child.kill(sig);
        } catch {
          /* gone */
        }
      }
    };
    const stop = (reason: 'cancelled' | 'timedOut'): void => {
      if (stopReason || exited) return;
      stopReason = reason;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 2_000);
    };
    const onAbort = (): void => stop('cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeout = opts.timeoutMs !== undefined ? setTimeout(() => stop('timedOut'), opts.timeoutMs) : undefined;

    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };

    child.once('error', (err: NodeJS.ErrnoException) => {
      finish(() =>
        reject(
          err.code === 'ENOENT'
            ? new AppError('INVALID', `${what}: command not found (${cmd})`, { cause: err.message })
            : new AppError('INVALID', `${what}: cannot start: ${err.message}`, { cause: err.message }),
        ),
      );
    });

    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    const done = (): void => {
      clearTimeout(closeTimer);
      splitters.stdout.end();
      splitters.stderr.end();
      const { code, signal } = exitInfo!;
      const settle = (): void => finish(() => {
        if (stopReason === 'cancelled') reject(cancelledError(what, tail));
        else if (stopReason === 'timedOut')
          reject(new AppError('INVALID', `${what} timed out after ${Math.round((opts.timeoutMs ?? 0) / 1000)} s`, { timedOut: true, tail }));
        else resolve({ code, signal, tail: [...tail], durationMs: Date.now() - started });
      });
      // When we killed it, settle only once the whole group is really gone (SIGKILL delivery is asynchronous).
      if (stopReason && child.pid !== undefined) void waitGroupGone(child.pid, 3_000).then(settle);
      else settle();
    };
    child.once('exit', (code, signal) => {
      exited = true;
      exitInfo = { code, signal };
      // Leftovers of the group (background children of the tool) would hold the pipes open: kill them.
      killGroup('SIGKILL');
      // 'close' follows once the pipes are drained; do not wait forever on a grandchild that escaped the group.
      closeTimer = setTimeout(done, 2_000);
    });
    child.once('close', () => {
      if (exitInfo) done();
    });
  });
}

/**
 * runProcess, but a non-zero exit rejects with AppError INVALID "`<what>` failed (exit N): <last non-empty line>"
 * (detail `{ code, tail }`). Resolves with the result on exit 0.
 */
export async function runChecked(cmd: string, args: readonly string[], opts: RunProcessOptions = {}): Promise<ProcessResult> {
  const r = await runProcess(cmd, args, opts);
  if (r.code !== 0) {
    const last = [...r.tail].reverse().find((l) => l.trim() !== '') ?? '(no output)';
    const status = r.code === null ? `signal ${r.signal}` : `exit ${r.code}`;
    throw new AppError('INVALID', `${opts.what ?? cmd} failed (${status}): ${last.trim()}`, { code: r.code, tail: r.tail });
  }
  return r;
}

/** True when `err` is the rejection runProcess produces for an aborted signal. */
export function isCancelled(err: unknown): boolean {
  return isAppError(err, 'INVALID') && (err.detail as { cancelled?: boolean } | undefined)?.cancelled === true;
}

/** process.env with `overrides` applied (`undefined` deletes a variable). Does not modify process.env. */
export function childEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * A function replacing every occurrence of each secret (≥ 4 characters; shorter ones would mangle ordinary text)
 * with `***`. Longer secrets are replaced first, so a secret containing another is not half-redacted.
 */
export function makeRedactor(secrets: readonly string[]): (s: string) => string {
  const list = [...new Set(secrets.filter((s) => typeof s === 'string' && s.length >= 4))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (s) => s;
  return (s) => {
    let out = s;
    for (const secret of list) if (out.includes(secret)) out = out.split(secret).join('***');
    return out;
  };
}

/** Live (non-zombie) members of process group `pgid`, from /proc. */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return pids;
  }
  for (const ent of entries) {
    if (!/^\d+$/.test(ent)) continue;
    try {
      const stat = readFileSync(`/proc/${ent}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] = state, rest[1] = ppid, rest[2] = pgrp
      if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') pids.push(Number(ent));
    } catch {
      /* raced with exit */
    }
  }
  return pids;
}

async function waitGroupGone(pgid: number, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (groupMembers(pgid).length > 0 && Date.now() < deadline) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function cancelledError(what: string, tail: string[] = []): AppError {
  return new AppError('INVALID', `${what} cancelled`, { cancelled: true, tail: [...tail] });
}

/**
 * Incremental line splitter (see runProcess for the rules). `push` bytes as they come, `end` flushes the last
 * unterminated line.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private buf = '';
  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    this.buf += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      this.emit(this.buf.slice(0, nl));
      this.buf = this.buf.slice(nl + 1);
    }
    if (this.buf.length > MAX_LINE) {
      // A progress bar redrawn with \r for a long time: keep only the current state.
      const cr = this.buf.lastIndexOf('\r', this.buf.length - 2);
      if (cr >= 0) this.buf = this.buf.slice(cr + 1);
      while (this.buf.length > MAX_LINE) {
        this.emit(this.buf.slice(0, MAX_LINE));
        this.buf = this.buf.slice(MAX_LINE);
      }
    }
  }

  end(): void {
    this.buf += this.decoder.end();
    if (this.buf.length > 0) this.emit(this.buf);
    this.buf = '';
  }

  private emit(raw: string): void {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const cr = line.lastIndexOf('\r');
    if (cr >= 0) {
      // "10%\r20%\r30%" → "30%"; a trailing "\r" followed by nothing keeps the text before it.
      const segments = line.split('\r').filter((s) => s.length > 0);
      line = segments.length ? segments[segments.length - 1]! : '';
    }
    this.onLine(line);
  }
}
