import { createHash } from 'node:crypto';
import { AppError } from '../../core/errors.ts';

/**
 * Git URL rules. A service's git URL is user input that ends up as an argument of `git`, so it is checked here once,
 * before anything runs, and everything we do not positively understand is refused:
 *
 *   https://host[:port]/path[.git]        kind 'https'
 *   http://host[:port]/path[.git]         kind 'http'  — accepted for any host. Self-hosted git servers on a private
 *                                                        network often speak plain HTTP, and a hostname says nothing
 *                                                        reliable about where it resolves, so we do not guess; the
 *                                                        caller should warn that the token travels unencrypted.
 *   ssh://[user@]host[:port]/path         kind 'ssh'   (git+ssh:// and ssh+git:// are git's aliases of ssh://)
 *   [user@]host:path                      kind 'ssh'   (scp-like; what GitHub and GitLab show for SSH)
 *   file:///abs/path                      kind 'file'  — only when local git URLs are enabled
 *
 * Refused: credentials inside the URL (they would be stored and logged; the service's git token is the place),
 * remote-helper transports (`ext::`, `fd::`, which run commands), anything starting with '-' (read as an option),
 * whitespace, control characters and backslashes, query strings and fragments, git://, and URLs with no repository path.
 */

export type GitUrlKind = 'https' | 'http' | 'ssh' | 'file';

/** A checked git URL. `url` is what to hand to git; `host` is null for file://; `repoName` is the last path segment without `.git`, as written. */
export interface ParsedGitUrl {
  kind: GitUrlKind;
  url: string;
  host: string | null;
  repoName: string;
}

const FORMS = 'use https://host/path, ssh://[user@]host[:port]/path or user@host:path';
const HOST = /^(?:[A-Za-z0-9_][A-Za-z0-9._-]*|\[[0-9A-Fa-f:.]+\])$/;
const SSH_USER = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const CREDENTIALS = 'must not contain credentials: remove them from the URL and set the service\'s git token (or deploy key) instead';

/**
 * Checks a git URL against the rules above. Throws AppError INVALID with a message that says what to write instead;
 * file:// URLs throw INVALID unless `allowLocal` (BUILDGRID_ALLOW_LOCAL_GIT=true).
 */
export function parseGitUrl(url: string, opts: { allowLocal: boolean }): ParsedGitUrl {
  const bad = (why: string): never => { throw new AppError('INVALID', `git URL ${why}`); };
  if (typeof url !== 'string' || url === '') bad('is empty');
  if (url.length > 2048) bad('is longer than 2048 characters');
  if (/[\u0000-\u0020\u007f-\u009f\s]/u.test(url)) bad('must not contain spaces or control characters');
  if (url.startsWith('-')) bad('must not start with "-"');
  if (url.includes('\\')) bad('must not contain backslashes');
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(url)) bad(`uses a remote-helper transport (like ext:: or fd::), which is not allowed: ${FORMS}`);

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (scheme === 'https' || scheme === 'http') return parseWeb(url, scheme, bad);
    if (scheme === 'ssh' || scheme === 'git+ssh' || scheme === 'ssh+git') return parseSshUrl(url, bad);
    if (scheme === 'file') return parseFile(url, opts.allowLocal, bad);
    if (scheme === 'git') bad('uses git://, which is neither encrypted nor authenticated: use https:// or ssh:// instead');
    return bad(`has an unsupported scheme "${scheme}://": ${FORMS}`);
  }
  if (/^[/.~]/.test(url)) {
    bad(opts.allowLocal ? 'for a local repository must be written as file:///absolute/path' : `is a local path, which is not allowed: ${FORMS}`);
  }
  return parseScp(url, bad);
}

function parseWeb(raw: string, kind: 'https' | 'http', bad: (why: string) => never): ParsedGitUrl {
  const u = tryUrl(raw, bad);
  if (u.username || u.password || rawAuthority(raw).includes('@')) bad(CREDENTIALS);
  if (u.search || u.hash || raw.includes('?') || raw.includes('#')) bad('must not have a query string or fragment');
  if (!u.hostname) bad('has no host');
  return { kind, url: u.href, host: u.hostname, repoName: repoNameOf(u.pathname, bad) };
}

function parseSshUrl(raw: string, bad: (why: string) => never): ParsedGitUrl {
  const u = tryUrl(raw, bad);
  if (u.password || rawAuthority(raw).split('@').length > 2) bad(CREDENTIALS);
  if (u.username && !SSH_USER.test(u.username)) bad(`has an invalid SSH user name "${u.username}"`);
  if (u.search || u.hash || raw.includes('?') || raw.includes('#')) bad('must not have a query string or fragment');
  if (!u.hostname || !HOST.test(u.hostname)) bad(`has an invalid host "${u.hostname}"`);
  if (u.port && !/^\d{1,5}$/.test(u.port)) bad(`has an invalid port "${u.port}"`);
  return { kind: 'ssh', url: u.href, host: u.hostname.toLowerCase(), repoName: repoNameOf(u.pathname, bad) };
}

/** user@host:path (host possibly an IPv6 literal in brackets). */
const SCP = /^(?:([^@/:[\]]+)@)?(\[[^\]/]+\]|[^:/@[\]]+):(.*)$/;

function parseScp(raw: string, bad: (why: string) => never): ParsedGitUrl {
  const m = SCP.exec(raw);
  if (!m) return bad(`is not a URL we can fetch: ${FORMS}`);
  const [, user, host, path] = m as unknown as [string, string | undefined, string, string];
  // git reads "a:b@host:path" as host "a"; what the person meant was a password in the URL.
  if (/^[^/]*@[^/]*:/.test(path) || /^[^/]*@/.test(path)) bad(CREDENTIALS);
  if (user !== undefined && !SSH_USER.test(user)) bad(`has an invalid SSH user name "${user}"`);
  if (!HOST.test(host)) bad(`has an invalid host "${host}"`);
  return { kind: 'ssh', url: raw, host: host.toLowerCase(), repoName: repoNameOf(path, bad) };
}

/**
 * The same http(s) or ssh URL with its host replaced by the IP address `address` (IPv6 in brackets): git then connects
 * to exactly that address. Everything else (user, port, path, scp-like form) is kept. Throws AppError INVALID for file://.
 */
export function withAddress(parsed: ParsedGitUrl, address: string): string {
  const host = address.includes(':') ? `[${address}]` : address;
  if (parsed.kind === 'file') throw new AppError('INVALID', 'a file:// URL has no host to connect to');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(parsed.url)) {
    const u = new URL(parsed.url);
    u.hostname = host;
    return u.href;
  }
  const [, user, , path] = SCP.exec(parsed.url) as unknown as [string, string | undefined, string, string];
  return `${user === undefined ? '' : `${user}@`}${host}:${path}`;
}

function parseFile(raw: string, allowLocal: boolean, bad: (why: string) => never): ParsedGitUrl {
  if (!allowLocal) {
    bad('uses file://, which is turned off on this server; an administrator can allow local repositories with BUILDGRID_ALLOW_LOCAL_GIT=true');
  }
  if (!raw.toLowerCase().startsWith('file:///')) bad('for a local repository must be written as file:///absolute/path (no host)');
  const u = tryUrl(raw, bad);
  if (u.search || u.hash || raw.includes('?') || raw.includes('#')) bad('must not have a query string or fragment');
  let path: string;
  try { path = decodeURIComponent(u.pathname); } catch { return bad('has an invalid percent-encoding'); }
  return { kind: 'file', url: u.href, host: null, repoName: repoNameOf(path, bad) };
}

function tryUrl(raw: string, bad: (why: string) => never): URL {
  try {
    return new URL(raw);
  } catch {
    return bad(`is malformed: ${FORMS}`);
  }
}

/** The text between "://" and the next "/" (where credentials would sit). */
function rawAuthority(raw: string): string {
  const rest = raw.slice(raw.indexOf('://') + 3);
  const slash = rest.indexOf('/');
  return slash < 0 ? rest : rest.slice(0, slash);
}

function repoNameOf(path: string, bad: (why: string) => never): string {
  const segments = path.split('/').filter((s) => s !== '');
  let last = segments.at(-1) ?? '';
  try { last = decodeURIComponent(last); } catch { /* keep as written */ }
  const name = last.replace(/\.git$/i, '');
  if (name === '' || name === '.' || name === '..' || name === '~') bad('has no repository path (it should end in the repository name, e.g. /org/app.git)');
  return name;
}

/**
 * Turns a repository name into one valid OCI path component: lower case, letters and digits joined by `.`, `_`, `__`
 * or runs of `-`; any other run of characters becomes `-`, accents are dropped, separators at the ends are trimmed.
 * Does not cap the length. Throws AppError INVALID when nothing usable is left.
 */
export function imageRepoComponent(repoName: string): string {
  const ascii = repoName.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  const parts = ascii.split(/([a-z0-9]+)/).filter((p, i) => i % 2 === 1 || p !== '');
  let out = '';
  for (const p of parts) {
    if (/^[a-z0-9]+$/.test(p)) out += p;
    else if (out !== '') out += /^(?:\.|_|__|-+)$/.test(p) ? p : '-';
  }
  out = out.replace(/(?:[._]|__|-+)+$/, '');
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(out)) {
    throw new AppError('INVALID', `repository name "${repoName}" has no letters or digits to name an image after; rename the repository or its URL`);
  }
  return out;
}

/** A stable, non-secret key for the cached mirror of `url` (hex SHA-256 prefix, 32 characters). Pass the `url` returned by parseGitUrl. */
export function cacheKeyFor(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 32);
}
