import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeGitRepo, gitTestEnv, type TestRepo } from '../support/git-repos.ts';
import { apiCall, basic } from '../support/world.ts';
import { cli } from '../support/cli.ts';
import { makeBuildWorld, waitBuild, dockerfile, type BuildWorld } from '../builds/support.ts';
import { bitbucketPush, githubPing, githubPush, gitlabPush, send, sign, type HookCall } from './payloads.ts';
import { startReceiver, type Receiver } from './receivers.ts';

// Build on push, end to end: real webhook requests in each host's shape against a running server, a bare repository
// whose post-receive hook calls the generic hook, signed notifications to loopback receivers. Two real builds.
const run = promisify(execFile);
let bw: BuildWorld;
let token: string;
let env: Record<string, string>;
let work: TestRepo;
let bare: string;
let hook: { id: string; url: string; signedUrl: string; secret: string };
let first: string;
let good: Receiver;
let flaky: Receiver;

const APP = '/accounts/acme/apps/shop';
const builds = async () => (await apiCall(bw.s, token, 'GET', `${APP}/builds?limit=200`)).body as any[];
const hookInfo = async (t = token) => (await apiCall(bw.s, t, 'GET', `${APP}/hook`)).body;
const deliver = (call: HookCall, url = hook.signedUrl) => send(url, call);

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The manifest of acme/shop.shop-web:<commit> as the viewer pulls it. */
async function pullable(commit: string): Promise<number> {
  const v = bw.w.acmeViewer.registry;
  const r = await fetch(`${bw.s.url}/v2/acme/shop.shop-web/manifests/${commit}`, {
    headers: { authorization: basic(v.username, v.password), accept: 'application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json' },
  });
  await r.arrayBuffer();
  return r.status;
}

before(async () => {
  // Generous heartbeat staleness: on a loaded 2-core machine a build must not be reclaimed for being slow to report.
  // The notification receivers are on loopback, which is refused by default: this server allows it explicitly.
  bw = await makeBuildWorld({
    allowPrivateNetworks: ['127.0.0.0/8'], notificationBackoffSeconds: 0.2, notificationBackoffMaxSeconds: 1, notificationTimeoutSeconds: 5, pollTickSeconds: 0.3,
    buildHeartbeatSeconds: 1, buildStaleSeconds: 60,
  });
  token = bw.w.acmeOwner.token;
  env = { BUILDGRID_SERVER: bw.s.url, BUILDGRID_TOKEN: token, XDG_CONFIG_HOME: join(bw.tmp, 'cli') };
  // The team's repository lives in a bare repository (a git server); people push to it from a working copy.
  bare = join(bw.tmp, 'shop-web.git');
  await mkdir(bare);
  await run('git', ['init', '--bare', '--quiet', '--initial-branch=main', bare], { env: gitTestEnv() });
  work = await makeGitRepo(join(bw.tmp, 'work'), { Dockerfile: dockerfile(bw.base), 'hello.txt': 'hello v1\n' }, { message: 'first commit' });
  first = work.head();
  await work.git('remote', 'add', 'origin', bare);
  await work.git('push', '--quiet', 'origin', 'main');
  assert.equal((await apiCall(bw.s, token, 'POST', '/accounts/acme/apps', { name: 'Shop' })).status, 201);
  const svc = await apiCall(bw.s, token, 'POST', `${APP}/services`, { name: 'web', gitUrl: `file://${bare}`, branch: 'main' });
  assert.equal(svc.status, 201, JSON.stringify(svc.body));
  // A second service from the same repository follows another branch (which does not exist yet).
  const worker = await apiCall(bw.s, token, 'POST', `${APP}/services`, { name: 'worker', gitUrl: `file://${bare}`, branch: 'stable' });
  assert.equal(worker.status, 201, JSON.stringify(worker.body));
  // Receivers: one that answers at once, one that fails the first two tries of every delivery.
  good = await startReceiver();
  flaky = await startReceiver((tries) => (tries <= 2 ? 500 : 200));
});
after(async () => {
  await good?.close();
  await flaky?.close();
  await bw?.stop();
});

test('notification endpoints are added from the CLI and the API', async () => {
  const add = await cli(['notifications', 'add', good.url, '--description', 'chat bot', '--json'], env);
  assert.equal(add.code, 0, add.stderr);
  assert.deepEqual(add.json.events, ['build.queued', 'build.started', 'build.succeeded', 'build.failed', 'deployment.succeeded', 'deployment.failed']);
  assert.match(add.json.secret, /^bgn_/);
  good.secret = add.json.secret;
  const f = await apiCall(bw.s, token, 'POST', '/accounts/acme/notifications', { url: flaky.url, events: ['deployment.succeeded'] });
  assert.equal(f.status, 201, JSON.stringify(f.body));
  flaky.secret = f.body.secret;
  const bad = await apiCall(bw.s, token, 'POST', '/accounts/acme/notifications', { url: 'gopher://x', events: ['build.succeeded'] });
  assert.equal(bad.status, 400);
  assert.equal((await apiCall(bw.s, bw.w.acmeViewer.token, 'GET', '/accounts/acme/notifications')).status, 403);
  const list = await apiCall(bw.s, token, 'GET', '/accounts/acme/notifications');
  assert.deepEqual(list.body.map((e: any) => e.url), [good.url, flaky.url]);
  assert.equal(list.body[0].secret, undefined, 'the list never shows secrets');
});

test('hooks show gives the URL with its secret; viewers see the counters but not the secret', async () => {
  const r = await cli(['hooks', 'show', 'shop', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  hook = r.json;
  assert.match(hook.secret, /^bgh_/);
  assert.equal(hook.signedUrl, `${bw.s.url}/hooks/${r.json.id}`);
  assert.equal(hook.url, `${hook.signedUrl}?key=${hook.secret}`);
  assert.equal(r.json.failedAuthCount, 0);
  const again = await hookInfo();
  assert.equal(again.secret, hook.secret, 'the same hook every time');
  const viewer = await hookInfo(bw.w.acmeViewer.token);
  assert.equal(viewer.secret, null);
  assert.equal(viewer.url, null);
  assert.equal(viewer.failedAuthCount, 0);
  assert.equal((await apiCall(bw.s, bw.w.globexDev.token, 'GET', `${APP}/hook`)).status, 404);
});

test('GitHub: ping answers; a signed push builds the pushed commit and the image is pullable', async () => {
  const ping = await deliver(githubPing(hook.secret));
  assert.equal(ping.status, 200, JSON.stringify(ping.body));
  assert.equal(ping.body.status, 'pong');
  const r = await deliver(githubPush(hook.secret, { branch: 'main', commit: first, message: 'first commit', deliveryId: 'gh-delivery-1' }));
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.status, 'accepted');
  const [res] = r.body.results;
  assert.equal(res.branch, 'main');
  assert.equal(res.builds.length, 1);
  assert.equal(res.builds[0].service, 'web');
  assert.equal(res.builds[0].reused, false);
  const b = await waitBuild(bw.s, token, res.builds[0].buildId, 600_000);
  assert.equal(b.status, 'succeeded', b.error);
  assert.equal(b.commit, first);
  assert.equal(b.trigger, 'hook');
  assert.equal(b.triggeredBy, 'github:octocat');
  assert.equal(await pullable(first), 200);
});

test('a replayed delivery id does nothing', async () => {
  const before = (await builds()).length;
  const r = await deliver(githubPush(hook.secret, { branch: 'main', commit: first, message: 'first commit', deliveryId: 'gh-delivery-1' }));
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'duplicate');
  assert.match(r.body.message, /received before/);
  assert.equal((await builds()).length, before);
});

test('forged signatures and wrong secrets get 401, are counted, and start nothing', async () => {
  const before = (await builds()).length;
  const deps = (await apiCall(bw.s, token, 'GET', `${APP}/timeline`)).body.length;
  const forged = githubPush('not-the-secret', { branch: 'main', commit: 'c'.repeat(40), message: 'evil' });
  assert.equal((await deliver(forged)).status, 401);
  // A genuine signature over another body: the body was tampered with on the way.
  const genuine = githubPush(hook.secret, { branch: 'main', commit: first, message: 'ok' });
  const tampered = { headers: genuine.headers, body: genuine.body.replace(first, 'd'.repeat(40)) };
  const t = await deliver(tampered);
  assert.equal(t.status, 401);
  assert.match(t.body.error.message, /X-Hub-Signature-256 does not match/);
  assert.equal((await deliver(gitlabPush('wrong-token', { branch: 'main', commit: first, message: 'm' }))).status, 401);
  assert.equal((await deliver(bitbucketPush('wrong', { branch: 'main', commit: first, message: 'm' }))).status, 401);
  const none = await send(hook.signedUrl, { headers: { "content-type": "application/json" }, body: "{\"ref\":\"refs/heads/main\"}" });
  assert.equal(none.status, 401);
  assert.match(none.body.error.message, /no signature or secret/);
  const wrongKey = await send(`${hook.signedUrl}?key=bgh_guess`, { headers: {}, body: '' });
  assert.equal(wrongKey.status, 401);
  const info = await hookInfo();
  assert.equal(info.failedAuthCount, 6);
  assert.match(info.lastFailedAuthReason, /key in the URL/);
  assert.equal((await builds()).length, before);
  assert.equal((await apiCall(bw.s, token, 'GET', `${APP}/timeline`)).body.length, deps, 'no deployment either');
  const human = await cli(['hooks', 'show', 'acme/shop'], env);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /Refused requests \(wrong signature or secret\): 6/);
  assert.match(human.stdout, new RegExp(`Redeploy hook URL: +${hook.url.replace(/[?.]/g, '\\$&')}`));
});

test('malformed and oversize bodies get 400 and 413 and start nothing', async () => {
  const before = (await builds()).length;
  const signed = (headers: Record<string, string>, body: string): HookCall => ({ headers: { ...headers, 'x-hub-signature-256': sign(hook.secret, body) }, body });
  const notJson = await deliver(signed({ 'x-github-event': 'push', 'content-type': 'application/json' }, '{"ref": "refs/heads/main",'));
  assert.equal(notJson.status, 400);
  assert.match(notJson.body.error.message, /not valid JSON/);
  const noRef = await deliver(signed({ 'x-github-event': 'push', 'content-type': 'application/json' }, JSON.stringify({ after: first })));
  assert.equal(noRef.status, 400);
  assert.match(noRef.body.error.message, /needs "ref"/);
  const badCommit = await send(hook.url, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ref: 'refs/heads/main', commit: 'HEAD' }) });
  assert.equal(badCommit.status, 400);
  assert.match(badCommit.body.error.message, /commit must be a 40-character commit hash/);
  const huge = JSON.stringify({ ref: 'refs/heads/main', padding: 'x'.repeat(1024 * 1024) });
  const big = await deliver(signed({ 'x-github-event': 'push', 'content-type': 'application/json' }, huge));
  assert.equal(big.status, 413);
  assert.match(big.body.error.message, /larger than 1048576 bytes/);
  const unknown = await send(`${bw.s.url}/hooks/no-such-hook?key=x`, { headers: {}, body: '' });
  assert.equal(unknown.status, 404);
  const noSuchService = await send(`${hook.url}&services=web,nope`, { headers: {}, body: '' });
  assert.equal(noSuchService.status, 400);
  assert.match(noSuchService.body.error.message, /no such service/);
  assert.equal((await builds()).length, before);
  assert.equal((await hookInfo()).failedAuthCount, 6, 'malformed is not a refused secret');
});

test('GitLab: an already-built commit builds nothing; ?services narrows; Bitbucket: another branch is ignored', async () => {
  const before = (await builds()).length;
  const gl = await deliver(gitlabPush(hook.secret, { branch: 'main', commit: first, message: 'first commit' }), `${hook.signedUrl}?services=web`);
  assert.equal(gl.status, 202, JSON.stringify(gl.body));
  assert.equal(gl.body.status, 'accepted');
  assert.deepEqual(gl.body.results[0].builds.map((b: any) => b.service), ['web'], 'only the service following main');
  assert.equal(gl.body.results[0].builds[0].reused, true);
  assert.equal(gl.body.results[0].builds[0].status, 'succeeded');
  assert.match(gl.body.message, /web is already built at/);
  const bb = await deliver(bitbucketPush(hook.secret, { branch: 'release', commit: 'e'.repeat(40), message: 'release it' }));
  assert.equal(bb.status, 202, JSON.stringify(bb.body));
  assert.equal(bb.body.status, 'ignored');
  assert.match(bb.body.message, /no service follows branch release \(services follow: main, stable\)/);
  const narrowed = await deliver(githubPush(hook.secret, { branch: 'stable', commit: 'e'.repeat(40), message: 'm' }), `${hook.signedUrl}?services=web`);
  assert.equal(narrowed.status, 202);
  assert.equal(narrowed.body.status, 'ignored');
  assert.match(narrowed.body.message, /none of web follows branch stable/);
  // The URL's key alone authenticates too (Bitbucket without a webhook secret).
  const bbKey = await deliver(bitbucketPush(null, { branch: 'release', commit: 'e'.repeat(40), message: 'again' }), hook.url);
  assert.equal(bbKey.body.status, 'ignored');
  assert.equal((await builds()).length, before);
});

test('skip markers skip: 202 saying why', async () => {
  const before = (await builds()).length;
  const r = await deliver(githubPush(hook.secret, { branch: 'main', commit: 'f'.repeat(40), message: 'docs only [skip build]' }));
  assert.equal(r.status, 202);
  assert.equal(r.body.status, 'skipped');
  assert.match(r.body.message, /\[skip build\]/);
  const gl = await deliver(gitlabPush(hook.secret, { branch: 'main', commit: 'f'.repeat(40), message: 'readme\n\n[ci skip]' }));
  assert.equal(gl.body.status, 'skipped');
  assert.equal((await builds()).length, before);
});

test('git push to a bare repository whose post-receive hook calls the generic hook: the image appears', async () => {
  const script = [
    '#!/bin/sh',
    '# BuildGrid: build every branch pushed here',
    'while read old new ref; do',
    `  curl -fsS -X POST -H 'Content-Type: application/json' --data "{\\"ref\\":\\"$ref\\",\\"commit\\":\\"$new\\"}" '${hook.url}' || echo "BuildGrid hook failed" >&2`,
    'done',
    '',
  ].join('\n');
  await writeFile(join(bare, 'hooks', 'post-receive'), script);
  await chmod(join(bare, 'hooks', 'post-receive'), 0o755);
  const second = await work.commit({ 'hello.txt': 'hello v2\n' }, 'second commit');
  const pushed = await run('git', ['push', 'origin', 'main'], { cwd: work.path, env: gitTestEnv() });
  assert.match(pushed.stderr, /"status":"accepted"/, 'git shows the hook\'s answer to the pusher');
  const b = await until('the pushed commit to be built', async () => (await builds()).find((x) => x.commit === second && ['succeeded', 'failed'].includes(x.status)), 600_000);
  assert.equal(b.status, 'succeeded', b.error);
  assert.equal(b.trigger, 'hook');
  assert.equal(b.triggeredBy, 'generic');
  assert.equal(await pullable(second), 200);
  const log = await apiCall(bw.s, token, 'GET', `${APP}/hook/deliveries`);
  assert.deepEqual(log.body.slice(0, 1).map((d: any) => [d.provider, d.status, d.branch, d.commit]), [['generic', 'accepted', 'main', second]]);
  assert.ok(log.body.some((d: any) => d.provider === 'github' && d.status === 'skipped'));
  assert.ok(!log.body.some((d: any) => d.status === 'processing' || d.status === 'error'));
});

test('every notification is signed; the flaky receiver gets its retries; redeliver sends again', async () => {
  // Both deployments that built something (and the one that reused an image) ended: each notice arrives.
  const deployments = await until('three deployment notices', () => {
    const d = good.got.filter((n) => n.json?.event === 'deployment.succeeded');
    return d.length >= 3 ? d : null;
  });
  assert.ok(good.got.every((n) => n.verified), 'every notification verifies with the endpoint secret');
  const kinds = good.got.map((n) => n.json.event);
  for (const k of ['build.queued', 'build.started', 'build.succeeded']) assert.equal(kinds.filter((x) => x === k).length, 2, k);
  const built = deployments.map((n) => n.json.deployment.services[0].commit);
  assert.ok(built.includes(first) && built.includes(work.head()));
  assert.equal(deployments[0]!.json.account.namespace, 'acme');
  assert.equal(deployments[0]!.json.application.slug, 'shop');
  assert.equal(deployments[0]!.headers['x-buildgrid-event'], 'deployment.succeeded');

  // The flaky receiver answered 500 twice for each delivery before taking it.
  await until('the flaky receiver to take three deliveries', () => flaky.got.filter((n) => n.status === 200).length >= 3);
  assert.ok(flaky.got.every((n) => n.verified));
  const log = await cli(['notifications', 'deliveries', '--limit', '50', '--json'], env);
  assert.equal(log.code, 0, log.stderr);
  const flakyEndpoint = (await apiCall(bw.s, token, 'GET', '/accounts/acme/notifications')).body.find((e: any) => e.url === flaky.url);
  const flakyLog = log.json.filter((d: any) => d.endpointId === flakyEndpoint.id);
  assert.equal(flakyLog.length, 3);
  for (const d of flakyLog) {
    assert.equal(d.status, 'succeeded');
    assert.deepEqual(d.attempts.map((a: any) => a.statusCode), [500, 500, 200]);
  }

  const one = log.json.find((d: any) => d.event === 'build.succeeded');
  const seen = good.got.length;
  const again = await cli(['notifications', 'redeliver', one.id, '--json'], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.json.redeliveryOf, one.id);
  const n = await until('the redelivery', () => good.got.slice(seen).find((x) => x.headers['x-buildgrid-delivery'] === again.json.id));
  assert.ok(n.verified);
  assert.deepEqual(n.json, one.payload, 'the same payload');
});

test('polling: a polled service is checked at once and its head deployed with trigger poll', async () => {
  const r = await cli(['hooks', 'poll', 'shop', 'web', '--every', '30', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.pollIntervalSeconds, 30);
  const head = work.head();
  const polled = await until('the first poll', async () => {
    const p = (await hookInfo()).polling[0];
    return p?.lastCommit ? p : null;
  }, 30_000);
  assert.equal(polled.lastCommit, head);
  assert.equal(polled.service, 'web');
  assert.equal(polled.lastError, null);
  const timeline = (await apiCall(bw.s, token, 'GET', `${APP}/timeline`)).body;
  const byPoll = timeline.find((e: any) => e.kind === 'deployment' && e.trigger === 'poll');
  assert.ok(byPoll, 'a deployment triggered by the poller');
  assert.equal(byPoll.services[0].commit, head);
  assert.equal(byPoll.status, 'succeeded', 'already built: nothing new to build');
  const off = await cli(['hooks', 'poll', 'shop', 'web', '--off', '--json'], env);
  assert.equal(off.json.pollIntervalSeconds, null);
});

test('rotating the secret stops the old one at once', async () => {
  const rotated = await apiCall(bw.s, token, 'POST', `${APP}/hook/rotate`);
  assert.equal(rotated.status, 200);
  assert.notEqual(rotated.body.secret, hook.secret);
  assert.equal(rotated.body.id, hook.id, 'same hook, new secret');
  assert.equal((await send(hook.url, { headers: {}, body: '{"branch":"release"}' })).status, 401);
  const ok = await send(rotated.body.url, { headers: {}, body: '{"branch":"release"}' });
  assert.equal(ok.status, 202);
  assert.equal((await apiCall(bw.s, bw.w.acmeViewer.token, 'POST', `${APP}/hook/rotate`)).status, 403);
  hook = rotated.body;
});

test('a deployment that fails answers with its error and is logged; a redelivery tries again', async () => {
  // No branch: every service at its own branch, and the worker's branch "stable" does not exist.
  const call = { headers: { 'content-type': 'application/json', 'x-buildgrid-delivery': 'redo-1' }, body: '{}' };
  const r = await send(hook.url, call);
  assert.equal(r.status, 404, JSON.stringify(r.body));
  assert.match(r.body.error.message, /stable/);
  const log = (await apiCall(bw.s, token, 'GET', `${APP}/hook/deliveries`)).body;
  assert.equal(log[0].status, 'error');
  assert.match(log[0].message, /deploying failed/);
  const again = await send(hook.url, call);
  assert.equal(again.status, 404, 'not a duplicate: the failed delivery is handled again');
});
