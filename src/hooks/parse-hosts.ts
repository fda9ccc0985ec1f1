import { createHash } from 'node:crypto';
import type { HookProvider } from '../metadata/types.ts';
import {
  addRef, bad, branchOf, commitField, decode, header, isObj, str, ZERO, type Headers, type ParsedHook,
} from './parse-common.ts';

/**
 * One parser per host, reading the fields its public documentation names: GitHub `push` (X-GitHub-Event,
 * X-GitHub-Delivery), GitLab `Push Hook` (X-Gitlab-Event, X-Gitlab-Event-UUID), Bitbucket Cloud `repo:push` and
 * Server `repo:refs_changed` (X-Event-Key, X-Request-UUID / X-Request-Id), and the generic POST.
 */

const start = (provider: HookProvider): ParsedHook => ({ provider, event: 'push', kind: 'push', deliveryKey: null, pusher: null, updates: [], ignored: [] });
const keyOf = (provider: HookProvider, id: string | undefined) => (id ? `${provider}:${id.slice(0, 200)}` : null);

/** GitHub `push` (and `ping`). */
export function parseGithub(h: Headers, contentType: string | undefined, body: Buffer): ParsedHook {
  const out = start('github');
  out.event = header(h, 'x-github-event')!;
  out.deliveryKey = keyOf(out.provider, header(h, 'x-github-delivery'));
  if (out.event === 'ping') return { ...out, kind: 'ping' };
  if (out.event !== 'push') return { ...out, kind: 'other' };
  const p = decode(body, contentType, out.provider);
  const ref = str(p.ref);
  if (!ref) throw bad('a GitHub push payload needs "ref" (e.g. refs/heads/main)');
  const after = p.deleted === true ? null : commitField(p.after, 'after');
  if (after === null && p.deleted !== true) throw bad('a GitHub push payload needs "after" (the pushed commit)');
  const head = isObj(p.head_commit) ? p.head_commit : null;
  out.pusher = str(isObj(p.pusher) ? p.pusher.name : null) ?? str(isObj(p.sender) ? p.sender.login : null);
  addRef(out, ref, after, head ? str(head.message) : null);
  return out;
}

/** GitLab `Push Hook` (or a system hook push). */
export function parseGitlab(h: Headers, contentType: string | undefined, body: Buffer): ParsedHook {
  const out = start('gitlab');
  out.event = header(h, 'x-gitlab-event')!;
  out.deliveryKey = keyOf(out.provider, header(h, 'x-gitlab-event-uuid')) ?? `gitlab:sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (!/^(push hook|system hook)$/i.test(out.event)) return { ...out, kind: 'other' };
  const p = decode(body, contentType, out.provider);
  if (p.object_kind !== 'push') {
    if (typeof p.object_kind === 'string') return { ...out, event: `${out.event} (${p.object_kind})`, kind: 'other' };
    throw bad('a GitLab push payload needs "object_kind": "push"');
  }
  const ref = str(p.ref);
  if (!ref) throw bad('a GitLab push payload needs "ref" (e.g. refs/heads/main)');
  const sha = commitField(p.checkout_sha, 'checkout_sha') ?? commitField(p.after, 'after');
  if (p.commits !== undefined && !Array.isArray(p.commits)) throw bad('"commits" must be an array');
  const commits = (Array.isArray(p.commits) ? p.commits : []).filter(isObj);
  const head = commits.find((c) => str(c.id)?.toLowerCase() === sha) ?? commits.at(-1);
  out.pusher = str(p.user_username) ?? str(p.user_name);
  addRef(out, ref, sha, head ? str(head.message) : null);
  return out;
}

/** Bitbucket Cloud `repo:push` and Server `repo:refs_changed`. */
export function parseBitbucket(h: Headers, contentType: string | undefined, body: Buffer): ParsedHook {
  const out = start('bitbucket');
  out.event = header(h, 'x-event-key')!;
  out.deliveryKey = keyOf(out.provider, header(h, 'x-request-uuid') ?? header(h, 'x-request-id'));
  if (/ping$/.test(out.event)) return { ...out, kind: 'ping' };
  if (out.event !== 'repo:push' && out.event !== 'repo:refs_changed') return { ...out, kind: 'other' };
  const p = decode(body, contentType, out.provider);
  out.pusher = isObj(p.actor) ? str(p.actor.display_name) ?? str(p.actor.nickname) ?? str(p.actor.name) : null;
  if (out.event === 'repo:push') {
    const changes = isObj(p.push) ? p.push.changes : undefined;
    if (!Array.isArray(changes)) throw bad('a Bitbucket repo:push payload needs "push.changes" (an array)');
    changes.forEach((c, i) => {
      if (!isObj(c)) throw bad(`push.changes[${i}] must be an object`);
      const next = isObj(c.new) ? c.new : null;
      if (!next) {
        const old = isObj(c.old) ? str(c.old.name) : null;
        out.ignored.push(`branch ${old ?? '(unknown)'} was deleted`);
        return;
      }
      const name = str(next.name);
      if (!name) throw bad(`push.changes[${i}].new.name is missing`);
      const target = isObj(next.target) ? next.target : {};
      const commit = commitField(target.hash, `push.changes[${i}].new.target.hash`);
      if (commit === null) throw bad(`push.changes[${i}].new.target.hash is missing`);
      addRef(out, next.type === 'branch' ? `refs/heads/${name}` : `refs/tags/${name}`, commit, str(target.message));
    });
    return out;
  }
  // Bitbucket Server / Data Center: changes[].{ref: {id, displayId, type}, toHash, type}
  if (!Array.isArray(p.changes)) throw bad('a Bitbucket repo:refs_changed payload needs "changes" (an array)');
  p.changes.forEach((c, i) => {
    if (!isObj(c) || !isObj(c.ref)) throw bad(`changes[${i}].ref is missing`);
    const ref = str(c.ref.id) ?? '';
    addRef(out, ref, c.type === 'DELETE' ? null : commitField(c.toHash, `changes[${i}].toHash`), null);
  });
  return out;
}

/** A plain POST: `{ref|branch, commit?, message?}` as JSON or form fields; an empty body means every service. */
export function parseGeneric(h: Headers, contentType: string | undefined, body: Buffer): ParsedHook {
  const out = start('generic');
  out.event = 'generic';
  out.deliveryKey = keyOf(out.provider, header(h, 'x-buildgrid-delivery'));
  const p = decode(body, contentType, out.provider);
  const branch = str(p.branch);
  const ref = str(p.ref);
  if (p.branch !== undefined && !branch) throw bad('"branch" must be a string');
  if (p.ref !== undefined && !ref) throw bad('"ref" must be a string');
  const commit = commitField(p.commit, 'commit');
  const message = p.message === undefined ? null : str(p.message);
  if (!branch && !ref) {
    if (commit) throw bad('a commit needs its branch: send {"ref": "refs/heads/<branch>", "commit": "<hash>"}');
    out.updates.push({ branch: null, commit: null, message });
    return out;
  }
  const full = branch ? `refs/heads/${branch}` : ref!.startsWith('refs/') ? ref! : `refs/heads/${ref}`;
  const b = branchOf(full);
  if ('ignored' in b) out.ignored.push(b.ignored);
  else if (commit !== null && ZERO.test(commit)) out.ignored.push(`branch ${b.branch} was deleted`);
  else out.updates.push({ branch: b.branch, commit, message });
  return out;
}
