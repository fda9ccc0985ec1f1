import { createHmac, randomUUID } from 'node:crypto';

/**
 * Webhook requests in the shape each git host sends them (headers and body fields as their public documentation
 * describes: GitHub "push" event, GitLab "Push Hook", Bitbucket Cloud "repo:push"), signed or authenticated with a
 * hook secret the way that host does it. Bodies are trimmed to realistic subsets of the real payloads, keeping every
 * field BuildGrid reads plus the ones around them.
 */

export interface HookCall { headers: Record<string, string>; body: string }

export interface PushSpec {
  branch: string;
  /** The pushed commit (head). */
  commit: string;
  /** The commit before the push. */
  before?: string;
  message: string;
  repo?: { name: string; fullName: string; cloneUrl: string };
  deliveryId?: string;
}

const ZERO = '0'.repeat(40);
const defaultRepo = { name: 'shop-web', fullName: 'acme/shop-web', cloneUrl: 'https://github.com/acme/shop-web.git' };
const author = { name: 'Test Author', email: 'author@test.local', username: 'tester' };

/** HMAC-SHA256 of the body, as `sha256=<hex>`. */
export function sign(secret: string, body: string, algorithm: 'sha256' | 'sha1' = 'sha256'): string {
  return `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`;
}

/** A GitHub `push` event, signed with X-Hub-Signature-256 (and the legacy sha1 header, as GitHub still sends). */
export function githubPush(secret: string, p: PushSpec): HookCall {
  const repo = p.repo ?? defaultRepo;
  const commit = {
    id: p.commit, tree_id: 'f'.repeat(40), distinct: true, message: p.message, timestamp: '2024-01-01T00:00:01Z',
    url: `https://github.com/${repo.fullName}/commit/${p.commit}`,
    author: author, committer: author, added: ['hello.txt'], removed: [], modified: [],
  };
  const body = JSON.stringify({
    ref: `refs/heads/${p.branch}`, before: p.before ?? ZERO, after: p.commit,
    repository: {
      id: 1296269, node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5', name: repo.name, full_name: repo.fullName, private: false,
      owner: { name: 'acme', login: 'acme' }, html_url: `https://github.com/${repo.fullName}`, clone_url: repo.cloneUrl,
      git_url: `git://github.com/${repo.fullName}.git`, ssh_url: `git@github.com:${repo.fullName}.git`, default_branch: 'main',
    },
    pusher: { name: 'octocat', email: 'octocat@github.com' },
    sender: { login: 'octocat', id: 1, type: 'User' },
    created: p.before === undefined, deleted: false, forced: false, base_ref: null,
    compare: `https://github.com/${repo.fullName}/compare/${(p.before ?? ZERO).slice(0, 12)}...${p.commit.slice(0, 12)}`,
    commits: [commit], head_commit: commit,
  });
  return {
    body,
    headers: {
      'content-type': 'application/json', 'user-agent': 'GitHub-Hookshot/abc1234',
      'x-github-event': 'push', 'x-github-delivery': p.deliveryId ?? randomUUID(), 'x-github-hook-id': '123456',
      'x-github-hook-installation-target-type': 'repository', 'x-github-hook-installation-target-id': '1296269',
      'x-hub-signature': sign(secret, body, 'sha1'), 'x-hub-signature-256': sign(secret, body),
    },
  };
}

/** GitHub's `ping` event, sent when a webhook is created. */
export function githubPing(secret: string): HookCall {
  const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 123456, hook: { type: 'Repository', id: 123456, events: ['push'], active: true } });
  return { body, headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(secret, body) } };
}

/** A GitLab `Push Hook`, authenticated with X-Gitlab-Token (GitLab sends the secret token as is). */
export function gitlabPush(token: string, p: PushSpec & { eventUuid?: string | null }): HookCall {
  const repo = p.repo ?? defaultRepo;
  const body = JSON.stringify({
    object_kind: 'push', event_name: 'push', before: p.before ?? ZERO, after: p.commit, ref: `refs/heads/${p.branch}`,
    ref_protected: true, checkout_sha: p.commit, message: null,
    user_id: 4, user_name: 'John Smith', user_username: 'jsmith', user_email: '', user_avatar: null,
    project_id: 15,
    project: {
      id: 15, name: repo.name, description: '', web_url: `https://gitlab.example.com/${repo.fullName}`, git_ssh_url: `git@gitlab.example.com:${repo.fullName}.git`,
      git_http_url: repo.cloneUrl, namespace: 'acme', visibility_level: 0, path_with_namespace: repo.fullName, default_branch: 'main',
    },
    commits: [{
      id: p.commit, message: p.message, title: p.message.split('\n')[0], timestamp: '2024-01-01T00:00:01+00:00',
      url: `https://gitlab.example.com/${repo.fullName}/-/commit/${p.commit}`, author: { name: author.name, email: author.email },
      added: ['hello.txt'], modified: [], removed: [],
    }],
    total_commits_count: 1,
    push_options: {},
    repository: { name: repo.name, url: `git@gitlab.example.com:${repo.fullName}.git`, description: '', homepage: `https://gitlab.example.com/${repo.fullName}`, git_http_url: repo.cloneUrl, git_ssh_url: `git@gitlab.example.com:${repo.fullName}.git`, visibility_level: 0 },
  });
  const headers: Record<string, string> = {
    'content-type': 'application/json', 'user-agent': 'GitLab/17.0.0', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': token,
    'x-gitlab-instance': 'https://gitlab.example.com', 'x-gitlab-webhook-uuid': 'a6fd1d20-9a3b-4b52-8c8e-1b5d1ad8b1c0',
  };
  if (p.eventUuid !== null) headers['x-gitlab-event-uuid'] = p.eventUuid ?? randomUUID();
  return { body, headers };
}

/** A Bitbucket Cloud `repo:push`, signed with X-Hub-Signature (sha256) when a secret is given. */
export function bitbucketPush(secret: string | null, p: PushSpec): HookCall {
  const repo = p.repo ?? defaultRepo;
  const target = (hash: string, message: string) => ({
    type: 'commit', hash, message: `${message}\n`, date: '2024-01-01T00:00:01+00:00',
    author: { type: 'author', raw: `${author.name} <${author.email}>` }, parents: [], links: { html: { href: `https://bitbucket.org/${repo.fullName}/commits/${hash}` } },
  });
  const body = JSON.stringify({
    actor: { type: 'user', display_name: 'Jane Dev', uuid: '{d301aafa-d676-4ee0-88be-962be7417567}', nickname: 'jdev' },
    repository: { type: 'repository', name: repo.name, full_name: repo.fullName, uuid: '{b7d2f2b6-1f0e-4f7b-8a3e-2f2c8f7d9e11}', is_private: true, scm: 'git', links: { html: { href: `https://bitbucket.org/${repo.fullName}` } } },
    push: {
      changes: [{
        new: { type: 'branch', name: p.branch, target: target(p.commit, p.message), links: {} },
        old: p.before ? { type: 'branch', name: p.branch, target: target(p.before, 'before'), links: {} } : null,
        created: !p.before, closed: false, forced: false, truncated: false,
        commits: [target(p.commit, p.message)],
        links: {},
      }],
    },
  });
  const headers: Record<string, string> = {
    'content-type': 'application/json', 'user-agent': 'Bitbucket-Webhooks/2.0', 'x-event-key': 'repo:push',
    'x-request-uuid': p.deliveryId ?? randomUUID(), 'x-hook-uuid': '{4b1c8f2a-1111-2222-3333-444455556666}', 'x-attempt-number': '1',
  };
  if (secret) headers['x-hub-signature'] = sign(secret, body);
  return { body, headers };
}

/** POSTs a HookCall to `url`. */
export async function send(url: string, call: HookCall): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: call.headers, body: call.body });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, body };
}
