import type { HookProvider } from '../metadata/types.ts';
import { header, type Headers, type ParsedHook } from './parse-common.ts';
import { parseBitbucket, parseGeneric, parseGithub, parseGitlab } from './parse-hosts.ts';

/**
 * Reads what a git host sent into one shape: which branches moved to which commits. Each host's push payload is read
 * by the fields its public documentation names (GitHub `push`, GitLab `Push Hook`, Bitbucket Cloud `repo:push` and
 * Server `repo:refs_changed`); anything else is a plain generic POST `{ref|branch, commit?, message?}`. Throws
 * AppError INVALID naming the missing or malformed field; never looks at secrets.
 */

export { header, type Headers, type ParsedHook, type RefUpdate } from './parse-common.ts';

/** Which host sent the request, from its event header. */
export function providerOf(h: Headers): HookProvider {
  if (header(h, 'x-github-event')) return 'github';
  if (header(h, 'x-gitlab-event')) return 'gitlab';
  if (header(h, 'x-event-key')) return 'bitbucket';
  return 'generic';
}

/** Parses a request. `body` is the raw body (already verified). Throws AppError INVALID for a malformed one. */
export function parseHook(h: Headers, contentType: string | undefined, body: Buffer): ParsedHook {
  const parsers = { github: parseGithub, gitlab: parseGitlab, bitbucket: parseBitbucket, generic: parseGeneric } satisfies Record<HookProvider, unknown>;
  return parsers[providerOf(h)](h, contentType, body);
}

const SKIP = /\[(skip build|build skip|ci skip|skip ci)\]/i;

/** The skip marker in a commit message (`[skip build]`, `[ci skip]`, `[skip ci]`), or null. */
export function skipMarker(message: string | null): string | null {
  return message ? SKIP.exec(message)?.[0] ?? null : null;
}
