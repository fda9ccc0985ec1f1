import { AppError } from '../core/errors.ts';

/**
 * Git's rules for branch names, as `git check-ref-format --branch <name>` applies them (refs.c, check_refname_component
 * and strbuf_check_branch_ref), so that a branch a person types is refused when the service is saved or a deploy is
 * asked for, not later by git — and never reaches git's command line as an option (`--upload-pack=…`).
 *
 * Refused: an empty name, a name starting with "-", the name "HEAD" or "@", ASCII control characters, space, any of
 * ~ ^ : ? * [ \, "..", "@{", a leading or trailing "/", "//", a trailing ".", a component starting with "." or ending
 * with ".lock". git itself has no length limit; we stop at 255 bytes (what the API accepts). Anything else, including
 * non-ASCII letters, is a valid branch name.
 */

const MAX_BYTES = 255;
const FORBIDDEN_CHARS = ['~', '^', ':', '?', '*', '[', '\\'];

/** The first of git's branch-name rules that `name` breaks, as a phrase ("must not contain \"..\""), or null when valid. */
export function branchNameProblem(name: string): string | null {
  if (name === '') return 'must not be empty';
  if (Buffer.byteLength(name) > MAX_BYTES) return `must be at most ${MAX_BYTES} bytes long`;
  if (name.startsWith('-')) return 'must not start with "-" (git would read it as an option)';
  if (name === 'HEAD' || name === '@') return `must not be "${name}"`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters';
  if (name.includes(' ')) return 'must not contain spaces';
  const ch = FORBIDDEN_CHARS.find((c) => name.includes(c));
  if (ch) return `must not contain "${ch}"`;
  if (name.includes('..')) return 'must not contain ".."';
  if (name.includes('@{')) return 'must not contain "@{"';
  if (name.startsWith('/')) return 'must not start with "/"';
  if (name.endsWith('/')) return 'must not end with "/"';
  if (name.includes('//')) return 'must not contain "//"';
  if (name.endsWith('.')) return 'must not end with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return `must not have a part starting with "." ("${part}")`;
    if (part.endsWith('.lock')) return `must not have a part ending with ".lock" ("${part}")`;
  }
  return null;
}

/** Returns `name` when it is a valid git branch name. Throws AppError INVALID naming the rule it breaks. */
export function checkBranchName(name: string): string {
  const problem = branchNameProblem(name);
  if (problem) throw new AppError('INVALID', `invalid branch name "${printable(name)}": a git branch name ${problem}`);
  return name;
}

/** The name as it can be shown: control characters escaped, cut at 80 characters. */
function printable(name: string): string {
  const shown = name.slice(0, 80).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return name.length > 80 ? `${shown}…` : shown;
}
