import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { makeGitRepo, type TestRepo } from '../support/git-repos.ts';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http.ts';
import { apiCall } from '../support/world.ts';
import { cli } from '../support/cli.ts';
import { makeBuildWorld, waitBuild, waitBuildState, dockerfile, timelineSettled, type BuildWorld } from './support.ts';

// Live logs with resume, cancel, private repositories over smart HTTP, and the CLI's build commands.
let bw: BuildWorld;
let token: string;
let slow: TestRepo;
let http: GitHttpServer;
let home: string;
let env: Record<string, string>;

before(async () => {
  // The private repository is served over HTTP on loopback, which git fetches refuse by default: allowed explicitly.
  // Two builds of one account at once (the cancel tests fill both workers): above the default per-account limit.
  bw = await makeBuildWorld({ allowPrivateNetworks: ['127.0.0.0/8'], maxConcurrentBuildsPerAccount: 2 });
  token = bw.w.acmeOwner.token;
  home = mkdtempSync(join(tmpdir(), 'bg-lc-'));
  env = { BUILDGRID_SERVER: bw.s.url, BUILDGRID_TOKEN: token, XDG_CONFIG_HOME: home };
  slow = await makeGitRepo(join(bw.tmp, 'slow'), {
    Dockerfile: `FROM ${bw.base}\nRUN for i in 1 2 3 4 5 6; do echo tick-$i; sleep 1; done\nRUN sleep 60\n`,
  });
  await makeGitRepo(join(bw.tmp, 'http-root', 'private.git'), { Dockerfile: dockerfile(bw.base), 'hello.txt': 'private\n' });
  http = await startGitHttpServer({ root: join(bw.tmp, 'http-root'), requireToken: { username: 'deploy', token: 's3cret-token' } });
  await apiCall(bw.s, token, 'POST', '/accounts/acme/apps', { name: 'tools' });
});
after(async () => {
  await http.stop();
  await bw.stop();
  rmSync(home, { recursive: true, force: true });
});

/** Reads SSE events from a stream until `stop` says so. */
async function sse(path: string, lastEventId: string | null, stop: (events: Array<{ id?: string; event: string; data: any }>) => boolean) {
  const ac = new AbortController();
  const res = await fetch(`${bw.s.url}/api/v1${path}`, { headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }, signal: ac.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const events: Array<{ id?: string; event: string; data: any }> = [];
  let buf = '';
  const dec = new TextDecoder();
  try {
    for await (const chunk of res.body as any) {
      buf += dec.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const e: any = { event: 'message' };
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
        }
        if (e.data !== undefined) events.push(e);
        if (stop(events)) { ac.abort(); return events; }
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
  return events;
}

test('log lines arrive live over SSE, a reconnect resumes after Last-Event-ID, and cancel stops the build', async () => {
  await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/tools/services', { name: 'slow', gitUrl: slow.url });
  const d = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/tools/deploy', { services: ['slow'] });
  const id = d.body.builds[0].id;
  const firstPart = await sse(`/builds/${id}/log/stream`, null, (ev) => ev.some((e) => e.event === 'line' && /tick-2/.test(e.data.text)));
  const lines = firstPart.filter((e) => e.event === 'line');
  assert.ok(lines.length > 3);
  assert.deepEqual(lines.map((e) => Number(e.id)), lines.map((e) => e.data.n), 'event ids are line numbers');
  const lastId = lines[lines.length - 1]!.id!;
  const resumed = await sse(`/builds/${id}/log/stream`, lastId, (ev) => ev.some((e) => e.event === 'line' && /tick-4/.test(e.data.text)));
  const resumedLines = resumed.filter((e) => e.event === 'line');
  assert.equal(resumedLines[0]!.data.n, Number(lastId) + 1, 'resume continues right after the last line seen');
  const started = Date.now();
  const c = await apiCall(bw.s, token, 'POST', `/builds/${id}/cancel`);
  assert.equal(c.status, 202);
  const b = await waitBuild(bw.s, token, id, 60_000);
  assert.equal(b.status, 'cancelled');
  assert.ok(Date.now() - started < 20_000, `cancel took ${Date.now() - started} ms`);
  const ended = await sse(`/builds/${id}/log/stream`, null, (ev) => ev.some((e) => e.event === 'end'));
  assert.equal(ended.at(-1)!.data.status, 'cancelled');
  const t = await timelineSettled(bw.s, token, '/accounts/acme/apps/tools');
  assert.equal(t.find((e: any) => e.kind === 'deployment').status, 'failed');
});

test('cancelling a queued build cancels it at once', async () => {
  // Two slow builds at concurrency 2 fill the workers; the third waits in the queue.
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const list = await apiCall(bw.s, token, 'GET', '/accounts/acme/apps/tools/builds');
    const r = await apiCall(bw.s, token, 'POST', `/builds/${list.body[list.body.length - 1].id}/rebuild`);
    ids.push(r.body.id);
  }
  await waitBuildState(bw.s, token, ids[0]!, (b) => b.status !== 'queued');
  await waitBuildState(bw.s, token, ids[1]!, (b) => b.status !== 'queued');
  const q = await apiCall(bw.s, token, 'POST', `/builds/${ids[2]}/cancel`);
  assert.equal(q.body.status, 'cancelled');
  for (const id of ids.slice(0, 2)) await apiCall(bw.s, token, 'POST', `/builds/${id}/cancel`);
  for (const id of ids.slice(0, 2)) assert.equal((await waitBuild(bw.s, token, id, 60_000)).status, 'cancelled');
});

test('a private repository over smart HTTP builds with the service\'s git token; a wrong token fails clearly', async () => {
  const bad = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/tools/services', { name: 'private-bad', gitUrl: http.url('private.git'), gitToken: { username: 'deploy', token: 'wrong' } });
  assert.equal(bad.status, 201);
  const failed = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/tools/deploy', { services: ['private-bad'] });
  assert.equal(failed.status, 400);
  assert.match(failed.body.error.message, /credentials|token|refused|authentication/i);
  assert.doesNotMatch(JSON.stringify(failed.body), /wrong/);
  const ok = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/tools/services', { name: 'private', gitUrl: http.url('private.git'), gitToken: { username: 'deploy', token: 's3cret-token' } });
  assert.equal(ok.status, 201);
  // Both services build private.git: the second one's image name is suffixed with its service name.
  assert.equal(ok.body.repository, 'acme/tools.private-private');
  assert.equal(ok.body.gitAuth, 'token');
  assert.doesNotMatch(JSON.stringify(ok.body), /s3cret/);
  const d = await apiCall(bw.s, token, 'POST', '/accounts/acme/apps/tools/deploy', { services: ['private'] });
  const b = await waitBuild(bw.s, token, d.body.builds[0].id);
  assert.equal(b.status, 'succeeded', b.error);
  const log = await apiCall(bw.s, token, 'GET', `/builds/${b.id}/log`);
  assert.doesNotMatch(JSON.stringify(log.body), /s3cret-token/);
});

test('the CLI: deploy --wait, logs, logs -f of a finished build, timeline, images, builds', async () => {
  const dep = await cli(['deploy', 'acme/tools', '--service', 'private', '--force', '--wait', '--json'], env, undefined, 240_000);
  assert.equal(dep.code, 0, dep.stderr);
  assert.equal(dep.json.deployment.status, 'succeeded');
  const id = dep.json.builds[0].id;
  const human = await cli(['logs', id], env);
  assert.match(human.stdout, /── FETCHING ──/);
  assert.match(human.stdout, /── BUILDING ──/);
  const follow = await cli(['logs', '-f', id], env);
  assert.equal(follow.code, 0, follow.stderr);
  assert.match(follow.stdout, /── PUSHING ──/);
  assert.match(follow.stderr, /Build succeeded/);
  const tl = await cli(['timeline', 'acme/tools', '--json'], env);
  assert.equal(tl.json[0].kind, 'deployment');
  const tlHuman = await cli(['timeline', 'tools', '--account', 'acme'], env);
  assert.match(tlHuman.stdout, /Application Deployed/);
  const images = await cli(['images', 'acme/tools', '--json'], env);
  assert.ok(images.json.some((i: any) => i.image.includes('/acme/tools.private-private:')));
  const builds = await cli(['builds', 'acme/tools', '--json'], env);
  assert.ok(builds.json.length >= 3);
  const show = await cli(['apps', 'show', 'acme/tools'], env);
  assert.match(show.stdout, /private/);
  const missing = await cli(['deploy', 'acme/tools', '--service', 'private', '--branch', 'no-such-branch'], env);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no-such-branch/);
});
