import { AppError } from '../core/errors.ts';
import { isRepositoryName } from '../core/reference.ts';
import type { AccessEntry, AccessRules, Action, Principal } from './types.ts';

/**
 * The Docker token spec's `scope` parameter and what a principal is granted of it.
 * Grammar: `scope = resourcescope *(" " resourcescope)`, `resourcescope = type[(class)] ":" name ":" action *("," action)`.
 * The name sits between the first and the last `:` (it may contain `/`), e.g. `repository:acme/web.api:pull,push`,
 * `registry:catalog:*`.
 */

const TYPE_RE = /^([a-z0-9]+(?:[._-][a-z0-9]+)*)(?:\([a-z0-9]+(?:[._-][a-z0-9]+)*\))?$/;
const ACTION_RE = /^(?:\*|[a-z][a-z-]*)$/;
const REGISTRY_NAME_RE = /^[a-z0-9]+$/;
const MAX_SCOPE = 8192;
const MAX_ENTRIES = 64;
const ORDER: readonly Action[] = ['pull', 'push', 'delete'];

function malformed(item: string, why: string): AppError {
  return new AppError('INVALID', `invalid scope "${item.slice(0, 120)}": ${why} (expected e.g. repository:acme/web.api:pull)`);
}

/**
 * Parses one `scope` parameter (several scopes may be space-separated; duplicates are merged).
 * Resource types other than `repository` and `registry` are skipped. Throws AppError INVALID on malformed input.
 */
export function parseScope(scopeParam: string): AccessEntry[] {
  if (scopeParam.length > MAX_SCOPE) throw malformed(scopeParam, `longer than ${MAX_SCOPE} characters`);
  const items = scopeParam.split(/\s+/).filter((s) => s !== '');
  if (items.length > MAX_ENTRIES) throw malformed(scopeParam, `more than ${MAX_ENTRIES} resources`);
  const merged = new Map<string, AccessEntry>();
  for (const item of items) {
    const first = item.indexOf(':');
    const last = item.lastIndexOf(':');
    if (first <= 0 || last <= first + 1) throw malformed(item, 'needs type:name:actions');
    const typeMatch = TYPE_RE.exec(item.slice(0, first));
    if (!typeMatch) throw malformed(item, 'bad resource type');
    const name = item.slice(first + 1, last);
    const actions = item.slice(last + 1).split(',');
    if (actions.some((a) => !ACTION_RE.test(a))) throw malformed(item, 'bad action list');
    const type = typeMatch[1];
    if (type === 'repository') {
      if (!isRepositoryName(name)) throw malformed(item, `"${name.slice(0, 80)}" is not a valid repository name`);
    } else if (type === 'registry') {
      if (!REGISTRY_NAME_RE.test(name)) throw malformed(item, 'bad registry resource name');
    } else {
      continue;
    }
    const key = `${type}:${name}`;
    const entry = merged.get(key) ?? { type, name, actions: [] };
    for (const a of actions) if (!entry.actions.includes(a)) entry.actions.push(a);
    merged.set(key, entry);
  }
  return [...merged.values()];
}

/**
 * The part of `requested` that `principal` holds: repository actions ∩ rules.actionsFor (`*` asks for all of them;
 * the grant lists them explicitly, in the order pull, push, delete); `registry:catalog:*` for any authenticated
 * principal. Entries with nothing granted are left out, as the token spec says.
 */
export async function grantedAccess(rules: AccessRules, principal: Principal, requested: AccessEntry[]): Promise<AccessEntry[]> {
  const granted: AccessEntry[] = [];
  for (const e of requested) {
    if (e.type === 'registry') {
      if (e.name === 'catalog' && e.actions.includes('*')) granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    const allowed = await rules.actionsFor(principal, e.name);
    const actions = ORDER.filter((a) => allowed.has(a) && (e.actions.includes(a) || e.actions.includes('*')));
    if (actions.length > 0) granted.push({ type: 'repository', name: e.name, actions: [...actions] });
  }
  return granted;
}
