import { AppError } from '../core/errors.ts';
import type { HookProvider } from '../metadata/types.ts';

/** The shape every host's payload is read into, and the field readers the host parsers share. */

export type Headers = Record<string, string | string[] | undefined>;

/** A branch that moved. `branch` null (generic POST without one) means every service at its own branch. */
export interface RefUpdate { branch: string | null; commit: string | null; message: string | null }

export interface ParsedHook {
  provider: HookProvider;
  /** The host's event name. */
  event: string;
  kind: 'push' | 'ping' | 'other';
  /** `<provider>:<id>` of this delivery, or null when the request has none. */
  deliveryKey: string | null;
  /** Who pushed, when the payload says. */
  pusher: string | null;
  updates: RefUpdate[];
  /** Refs in the payload that are not buildable (tags, deleted branches), with why. */
  ignored: string[];
}

/** The first value of a header (lower-case name). */
export function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

export const COMMIT = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;
export const ZERO = /^0+$/;
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
export const bad = (msg: string) => new AppError('INVALID', msg);

/** A commit hash from a payload field (lower-cased), null for an absent one; throws INVALID for anything else. */
export function commitField(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !COMMIT.test(v.toLowerCase())) throw bad(`${field} must be a 40-character commit hash, got ${JSON.stringify(v).slice(0, 60)}`);
  return v.toLowerCase();
}

/** Splits a ref into a branch, or says why it is not one. */
export function branchOf(ref: string): { branch: string } | { ignored: string } {
  if (ref.startsWith('refs/heads/')) return { branch: ref.slice('refs/heads/'.length) };
  if (ref.startsWith('refs/tags/')) return { ignored: `${ref} is a tag, not a branch` };
  return { ignored: `${ref} is not a branch` };
}

/** Adds one pushed ref to `out` (a branch update, or why it is ignored). */
export function addRef(out: ParsedHook, ref: string, commit: string | null, message: string | null): void {
  const b = branchOf(ref);
  if ('ignored' in b) out.ignored.push(b.ignored);
  else if (commit === null || ZERO.test(commit)) out.ignored.push(`branch ${b.branch} was deleted`);
  else out.updates.push({ branch: b.branch, commit, message });
}

/** Decodes the body: JSON, or GitHub's form encoding (`payload=<json>`), or form fields for a generic POST. */
export function decode(body: Buffer, contentType: string | undefined, provider: HookProvider): Obj {
  const text = body.toString('utf8').trim();
  if (text === '') {
    if (provider === 'generic') return {};
    throw bad('the body is empty: expected the JSON payload of a push event');
  }
  let json: unknown;
  if (!text.startsWith('{') && /application\/x-www-form-urlencoded/i.test(contentType ?? '')) {
    const form = new URLSearchParams(text);
    const payload = form.get('payload');
    if (payload !== null) json = parseJson(payload);
    else if (provider === 'generic') return Object.fromEntries(form);
    else throw bad('the form-encoded body has no "payload" field');
  } else {
    json = parseJson(text);
  }
  if (!isObj(json)) throw bad('the body must be a JSON object');
  return json;
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw bad(`the body is not valid JSON: ${(err as Error).message}`);
  }
}
