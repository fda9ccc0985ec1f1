import { AppError } from '../core/errors.ts';

/**
 * Failed-login limiting per key: the client's address together with the username tried (`limitKey`), so one person's
 * typos — or a hostile build's guesses from the address every build shares — lock out only that username from that
 * address, never another user and never another client behind the same proxy (see core/client-address.ts).
 *
 * A key that fails more than `maxFailuresPerMinute` times within any 60-second window is locked out for
 * `baseBackoffMs` (default 1 min). Each further lockout within `maxBackoffMs` of the previous one's end doubles the
 * period, capped at `maxBackoffMs` (default 15 min): 1, 2, 4, 8, 15 minutes. Successful logins do not clear failures:
 * a guesser who also holds one valid credential cannot interleave it to reset the count (failures simply age out of
 * the window). What a lockout refuses is the caller's decision (registry-auth.ts still accepts a valid registry
 * secret, people.ts refuses every dashboard password).
 *
 * Memory is bounded: at most `maxSources` keys are tracked. When full, idle keys (no failure in the window, not
 * locked, and their backoff level decayed) are swept first; if none are idle the least recently failing key is
 * dropped. Locked keys are the last to go, so flooding with many keys mainly evicts the flooder's own entries.
 */

const WINDOW_MS = 60_000;

export interface LoginLimiterOptions {
  /** Failures per key tolerated within a sliding minute (more than this locks the key out). */
  maxFailuresPerMinute: number;
  /** First lockout period, ms (default 60 000). */
  baseBackoffMs?: number;
  /** Longest lockout period, ms (default 900 000). */
  maxBackoffMs?: number;
  /** Most keys tracked at once (default 10 000). */
  maxSources?: number;
  /** Clock, ms since the epoch (tests inject one). */
  now?: () => number;
}

/** Refuses keys (address + username) that fail too often. */
export interface LoginLimiter {
  /** Throws AppError TOOMANYREQUESTS (detail `{ retryAfterSeconds }`) when `key` is locked out; otherwise returns. */
  check(key: string): void;
  /** Seconds until `key`'s lockout ends (rounded up), 0 when it is not locked out. */
  lockedFor(key: string): number;
  /** Counts one failed attempt under `key`, locking it out when it exceeds the limit. */
  recordFailure(key: string): void;
  /** Keys currently tracked (for metrics). */
  readonly size: number;
}

/** The limiter key for `username` tried from client address `source` (usernames compare case-insensitively). */
export function limitKey(source: string, username: string): string {
  return `${source} ${username.trim().toLowerCase()}`;
}

/** The TOOMANYREQUESTS error for a lockout with `seconds` left. */
export function tooManyAttempts(seconds: number, lockedUntil = Date.now() + seconds * 1000): AppError {
  return new AppError(
    'TOOMANYREQUESTS',
    `too many failed sign-in attempts for this user from this address: try again in ${seconds} s (after ${new Date(lockedUntil).toISOString()})`,
    { retryAfterSeconds: seconds },
  );
}

/** The Retry-After header value (seconds) for a TOOMANYREQUESTS error: its real remaining time, 60 when unknown. */
export function retryAfterHeader(err: AppError): string {
  const s = (err.detail as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof s === 'number' && Number.isFinite(s) && s > 0 ? String(Math.ceil(s)) : '60';
}

interface SourceState {
  failures: number[]; // timestamps within the window, oldest first
  lockedUntil: number;
  level: number; // lockouts in the current streak
}

/** A new in-memory limiter (per server node). */
export function createLoginLimiter(opts: LoginLimiterOptions): LoginLimiter {
  const max = Math.max(1, Math.floor(opts.maxFailuresPerMinute));
  const base = opts.baseBackoffMs ?? 60_000;
  const cap = opts.maxBackoffMs ?? 15 * 60_000;
  const maxSources = Math.max(1, opts.maxSources ?? 10_000);
  const now = opts.now ?? Date.now;
  const sources = new Map<string, SourceState>();

  const prune = (s: SourceState, t: number) => {
    while (s.failures.length > 0 && s.failures[0]! <= t - WINDOW_MS) s.failures.shift();
  };
  // A streak ends once the source has been quiet for `cap` after its last lockout ended.
  const streakOver = (s: SourceState, t: number) => s.level > 0 && t >= s.lockedUntil + cap;
  const idle = (s: SourceState, t: number) => {
    prune(s, t);
    return s.failures.length === 0 && t >= s.lockedUntil && (s.level === 0 || streakOver(s, t));
  };

  // Sweeping is O(sources); under a flood it runs at most once a second, and otherwise the first unlocked entry
  // (the least recently failing) goes, which is O(1) in practice.
  let lastSweep = -Infinity;
  const makeRoom = (t: number) => {
    if (sources.size < maxSources) return;
    if (t - lastSweep >= 1000) {
      lastSweep = t;
      for (const [k, s] of sources) if (idle(s, t)) sources.delete(k);
      if (sources.size < maxSources) return;
    }
    for (const [k, s] of sources) {
      if (t >= s.lockedUntil) {
        sources.delete(k);
        return;
      }
    }
    sources.delete(sources.keys().next().value as string);
  };

  const lockedFor = (key: string): number => {
    const s = sources.get(key);
    const t = now();
    return s && t < s.lockedUntil ? Math.ceil((s.lockedUntil - t) / 1000) : 0;
  };

  return {
    check(key) {
      const seconds = lockedFor(key);
      if (seconds > 0) throw tooManyAttempts(seconds, sources.get(key)!.lockedUntil);
    },
    lockedFor,
    recordFailure(source) {
      const t = now();
      let s = sources.get(source);
      if (s) {
        sources.delete(source); // re-inserted below: Map order is least recently failing first
      } else {
        makeRoom(t);
        s = { failures: [], lockedUntil: 0, level: 0 };
      }
      sources.set(source, s);
      prune(s, t);
      if (streakOver(s, t)) s.level = 0;
      s.failures.push(t);
      if (s.failures.length > max) {
        const period = Math.min(base * 2 ** s.level, cap);
        s.level += 1;
        s.lockedUntil = t + period;
        s.failures = [];
      }
    },
    get size() {
      return sources.size;
    },
  };
}
