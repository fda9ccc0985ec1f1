import { AppError, isAppError } from '../../core/errors.ts';
import { GitError, isAbortError } from './exec.ts';

/**
 * Reads git's (already redacted) stderr and says what went wrong in words a person can act on. git's own messages
 * differ between transports and versions, so these are patterns seen from curl (https), ssh and upload-pack (file://);
 * whatever matches none of them keeps git's last lines verbatim.
 */

export type GitFailure = 'auth' | 'hostkey' | 'no-repo' | 'redirect' | 'unreachable' | 'other';

const PATTERNS: Array<[Exclude<GitFailure, 'other'>, RegExp]> = [
  ['hostkey', /host key verification failed|remote host identification has changed/i],
  ['auth', /authentication failed|returned error: 40[13]|http 40[13]|could not read (?:username|password)|terminal prompts disabled|permission denied \(|invalid username or password|access denied|http basic: access denied/i],
  ['no-repo', /repository (?:'[^']*' )?not found|does not appear to be a git repository|returned error: 404|could not be found|no such repository/i],
  ['redirect', /returned error: 30[12378]\b/i],
  ['unreachable', /could not resolve host|connection refused|failed to connect|connection timed out|timed out|network is unreachable|no route to host|connection reset|connection closed|could not read from remote repository|ssl|certificate|operation too slow|empty reply from server|unable to access/i],
];

/** Which kind of failure a git error is, judged from its stderr. */
export function failureOf(err: GitError): GitFailure {
  if (err.reason === 'timeout') return 'unreachable';
  for (const [kind, re] of PATTERNS) if (re.test(err.stderrTail)) return kind;
  return 'other';
}

/**
 * Maps anything a git run threw to an AppError: INVALID for refused credentials (with `refusedHint`), unknown host
 * keys, unreachable hosts and timeouts; NOT_FOUND for a missing repository; INTERNAL when git cannot run. AppErrors
 * (including cancellation, named AbortError) pass through unchanged. Every message ends with git's redacted last lines.
 */
export function toAppError(err: unknown, ctx: { url: string; action: string; refusedHint: string }): Error {
  if (isAppError(err) || isAbortError(err) || !(err instanceof GitError)) return err as Error;
  const said = stderrSummary(err.stderrTail);
  const detail = { stderr: err.stderrTail, exitCode: err.exitCode };
  if (err.reason === 'spawn') return new AppError('INTERNAL', err.message, detail);
  if (err.reason === 'timeout') return new AppError('INVALID', `${err.message} while trying to ${ctx.action} ${ctx.url}: is the git host reachable and responding?${said}`, detail);
  switch (failureOf(err)) {
    case 'auth':
      return new AppError('INVALID', `${ctx.refusedHint} (${ctx.url})${said}`, detail);
    case 'hostkey':
      return new AppError('INVALID', `the SSH host key of ${ctx.url} does not match the one recorded earlier: if the host really changed its key, an administrator must remove its line from known_hosts in the git cache directory${said}`, detail);
    case 'no-repo':
      return new AppError('NOT_FOUND', `no git repository at ${ctx.url} (or the credentials cannot see it): check the URL${said}`, detail);
    case 'redirect':
      return new AppError('INVALID', `the git host of ${ctx.url} answered with a redirect, and redirects are not followed (one could lead into a private network): use the URL it redirects to${said}`, detail);
    case 'unreachable':
      return new AppError('INVALID', `could not reach the git host of ${ctx.url}: check the URL and that the host is up${said}`, detail);
    default:
      return new AppError('INVALID', `could not ${ctx.action} ${ctx.url}${said}`, detail);
  }
}

/** " (git said: …)" with the last few meaningful lines, or nothing. */
export function stderrSummary(tail: string): string {
  const lines = tail.split('\n').map((l) => l.trim()).filter((l) => l && !/^(?:remote: )?(?:Enumerating|Counting|Compressing|Receiving|Resolving|Total)\b/.test(l));
  return lines.length ? ` (git said: ${lines.slice(-3).join(' | ')})` : '';
}
