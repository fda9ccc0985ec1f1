import { spawn } from 'node:child_process';
import { AppError } from '../../core/errors.ts';

/**
 * Runs system git for the fetcher. Never through a shell: arguments are an array. Git runs in its own process group
 * (spawn detached) so cancelling kills it together with its helpers (git-remote-https, ssh, upload-pack).
 *
 * Hardening, because the repository, its server and its URL are all chosen by users:
 *  - the environment is built from scratch (no inherited GIT_DIR, SSH_AUTH_SOCK, credential helpers, editors); only
 *    PATH, TMPDIR and proxy / CA settings pass through, so operators behind a proxy still work;
 *  - HOME and XDG_CONFIG_HOME point at an empty directory, GIT_CONFIG_NOSYSTEM=1 and GIT_CONFIG_GLOBAL=/dev/null:
 *    no config but ours; the cwd is that empty directory too, so git never discovers a repository around us;
 *  - GIT_TERMINAL_PROMPT=0 and no askpass program: a missing or refused credential fails at once ("terminal prompts
 *    disabled") instead of blocking. (GIT_ASKPASS=/bin/true would instead send an empty password and read as a 401.)
 *  - GIT_ALLOW_PROTOCOL whitelists https, http, ssh (+ file only when local URLs are allowed), backed by
 *    protocol.<name>.allow; ext:: and fd:: can never run;
 *  - hooks off, fsmonitor off, no credential helper, LFS smudge skipped, auto-maintenance never detaches (a detached
 *    gc would outlive the process group we kill);
 *  - curl gives up on a transfer stalled below 1 byte/s for 2 minutes, as a backstop to the caller's timeout.
 * Secrets (tokens, the Authorization header) go through GIT_CONFIG_COUNT/KEY/VALUE in the environment, never argv
 * (`ps` shows argv to every local user), and are redacted from every log line and error.
 */

/** What a git run needs besides its arguments. */
export interface RunGitOptions {
  /** An empty directory used as HOME and as the default cwd. */
  home: string;
  /** Allow the file:// transport (BUILDGRID_ALLOW_LOCAL_GIT). */
  allowLocal: boolean;
  cwd?: string;
  /** Extra environment (GIT_INDEX_FILE, GIT_SSH_COMMAND…), added over the hardened base. */
  env?: Record<string, string>;
  /** Non-secret config for this run, passed with -c after the hardened base (e.g. the pinned destination). */
  config?: Record<string, string>;
  /** Config passed through the environment so it never shows in `ps`; its values are redacted. */
  secretConfig?: Record<string, string>;
  /** More strings to redact from output and errors. */
  secrets?: readonly string[];
  signal?: AbortSignal;
  /** Kill git after this long (default 10 minutes). */
  timeoutMs?: number;
  /** Receives each finished stderr line (progress redraws are skipped), redacted. */
  onStderrLine?: (line: string) => void;
  /** Fails the run when stdout grows past this (default 64 MiB). */
  maxStdoutBytes?: number;
}

export interface GitOutput { stdout: string; stderr: string }

/** A git run that failed: non-zero exit, timeout, or git could not start. `stderrTail` is redacted. */
export class GitError extends Error {
  constructor(
    message: string,
    readonly reason: 'exit' | 'timeout' | 'spawn' | 'output',
    readonly exitCode: number | null,
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

const PASS_THROUGH = ['PATH', 'TMPDIR', 'http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY',
  'all_proxy', 'ALL_PROXY', 'GIT_SSL_CAINFO', 'GIT_SSL_CAPATH', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];
const KILL_GRACE_MS = 2_000;
const TAIL_LINES = 20;

/**
 * Runs `git <args>` and resolves to its output. Rejects with GitError on failure, and with an AppError INVALID named
 * 'AbortError' once `signal` fires — after the whole process group has been signalled and git has exited (SIGTERM so
 * git removes its lock files, SIGKILL after 2 s).
 */
export function runGit(args: readonly string[], opts: RunGitOptions): Promise<GitOutput> {
  const secrets = [...(opts.secrets ?? []), ...Object.values(opts.secretConfig ?? {})];
  const clean = (s: string) => redact(s, secrets);
  const label = `git ${subcommand(args)}`.trim();
  return new Promise<GitOutput>((resolve, reject) => {
    if (opts.signal?.aborted) return reject(abortError(label));
    const extra = Object.entries(opts.config ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
    const child = spawn('git', [...baseConfig(opts.allowLocal), ...extra, ...args], {
      cwd: opts.cwd ?? opts.home,
      env: gitEnv(opts),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    const tail: string[] = [];
    let pending = '';
    let stopped: 'abort' | 'timeout' | 'output' | null = null;
    let killTimer: NodeJS.Timeout | undefined;

    const stop = (why: 'abort' | 'timeout' | 'output') => {
      if (stopped || child.pid === undefined || child.exitCode !== null) return;
      stopped = why;
      killGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = () => stop('abort');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs ?? 600_000);

    const emit = (segment: string) => {
      const line = clean(segment.trimEnd());
      if (line === '') return;
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      try { opts.onStderrLine?.(line); } catch { /* a bad listener must not break git */ }
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      pending += chunk;
      // Progress redraws end in \r: only the final version of a line (ending in \n) is worth logging.
      let i: number;
      while ((i = pending.search(/[\r\n]/)) >= 0) {
        if (pending[i] === '\n') emit(pending.slice(0, i));
        pending = pending.slice(i + 1);
      }
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > (opts.maxStdoutBytes ?? 64 * 1024 * 1024)) return stop('output');
      stdout.push(chunk);
    });

    let spawnError: Error | undefined;
    child.on('error', (err) => { spawnError = err; });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (child.pid !== undefined && stopped) killGroup(child.pid, 'SIGKILL'); // helpers that ignored SIGTERM
      if (pending) emit(pending);
      const stderrTail = tail.join('\n');
      if (stopped === 'abort') return reject(abortError(label));
      if (stopped === 'timeout') {
        const secs = (opts.timeoutMs ?? 600_000) / 1000;
        return reject(new GitError(`${label} timed out after ${secs < 10 ? secs.toFixed(1) : Math.round(secs)} s`, 'timeout', null, stderrTail));
      }
      if (stopped === 'output') return reject(new GitError(`${label} produced too much output`, 'output', null, stderrTail));
      if (spawnError) return reject(new GitError(`could not run git: ${clean(spawnError.message)} (is git installed?)`, 'spawn', null, ''));
      if (code !== 0) {
        const last = tail.filter((l) => /^(fatal|error):/.test(l)).at(-1) ?? tail.at(-1) ?? (sig ? `killed by ${sig}` : `exit code ${code}`);
        return reject(new GitError(`${label} failed: ${last}`, 'exit', code, stderrTail));
      }
      resolve({ stdout: clean(Buffer.concat(stdout).toString('utf8')), stderr: stderrTail });
    });
  });
}

/** Replaces every secret (and credentials inside URLs) in `text` with ***. Secrets shorter than 4 characters are ignored. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((x) => x && x.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

/** Quotes one argument for a POSIX shell (GIT_SSH_COMMAND is run by sh). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}

/** True for the rejection runGit (and so the fetcher) produces when its signal fires. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/** The git subcommand in `args` (skipping global options and their values), for messages. */
function subcommand(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (['-c', '-C', '--git-dir', '--work-tree'].includes(args[i]!)) i++;
    else if (!args[i]!.startsWith('-')) return args[i]!;
  }
  return '';
}

function abortError(label: string): AppError {
  const err = new AppError('INVALID', `${label} was cancelled`);
  err.name = 'AbortError';
  return err;
}

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    /* already gone */
  }
}

function baseConfig(allowLocal: boolean): string[] {
  const cfg: Record<string, string> = {
    'protocol.allow': 'never',
    'protocol.https.allow': 'always',
    'protocol.http.allow': 'always',
    'protocol.ssh.allow': 'always',
    'protocol.file.allow': allowLocal ? 'always' : 'never',
    'protocol.ext.allow': 'never',
    'protocol.fd.allow': 'never',
    'core.hooksPath': '/dev/null',
    'core.fsmonitor': 'false',
    'credential.helper': '',
    'gc.autoDetach': 'false',
    'maintenance.autoDetach': 'false',
    'fetch.recurseSubmodules': 'false',
    'http.lowSpeedLimit': '1',
    'http.lowSpeedTime': '120',
    'init.defaultBranch': 'main',
    'advice.detachedHead': 'false',
  };
  return Object.entries(cfg).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
}

function gitEnv(opts: RunGitOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of PASS_THROUGH) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  Object.assign(env, {
    HOME: opts.home,
    XDG_CONFIG_HOME: opts.home,
    LC_ALL: 'C',
    LANG: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: opts.allowLocal ? 'https:http:ssh:file' : 'https:http:ssh',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_LFS_SKIP_SMUDGE: '1',
    GIT_SSH_COMMAND: 'ssh -F /dev/null -o BatchMode=yes -o PubkeyAuthentication=no -o IdentityAgent=none',
  });
  Object.assign(env, opts.env ?? {});
  const secret = Object.entries(opts.secretConfig ?? {});
  if (secret.length > 0) {
    env.GIT_CONFIG_COUNT = String(secret.length);
    secret.forEach(([k, v], i) => { env[`GIT_CONFIG_KEY_${i}`] = k; env[`GIT_CONFIG_VALUE_${i}`] = v; });
  }
  return env;
}
