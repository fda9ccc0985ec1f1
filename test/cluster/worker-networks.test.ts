import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBuildahEngine } from '../../src/builds/engines/buildah.ts';
import { startRemoteWorker, workerGitFetcher, type WorkerSettings } from '../../src/builds/remote/worker.ts';
import { cacheKeyFor } from '../../src/builds/git/urls.ts';
import type { GitFetcher } from '../../src/builds/types.ts';
import { startTestServer } from '../support/server.ts';
import { apiCall, makeWorld } from '../support/world.ts';
import { makeGitRepo, type TestRepo } from '../support/git-repos.ts';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http.ts';

// A remote worker fetches git with the server's allowPrivateNetworks (GET /api/v1/worker/config), not a setting of
// its own: against a server with the default, a git host on loopback is refused; against one that allows
// 127.0.0.0/8, the same fetch works. The worker is the real one (`buildgrid worker` starts it the same way); no build
// is queued, so its engine is never used.

let root: string;
let repo: TestRepo;
let gitHttp: GitHttpServer;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'bg-worker-net-'));
  repo = await makeGitRepo(join(root, 'repos', 'web'), { Dockerfile: 'FROM scratch\n' });
  gitHttp = await startGitHttpServer({ root: join(root, 'repos') });
});
after(async () => {
  await gitHttp.stop();
  await rm(root, { recursive: true, force: true });
});

async function workerOf(overrides: Record<string, unknown>, name: string): Promise<{ fetcher: GitFetcher; settings: WorkerSettings; stop(): Promise<void> }> {
  const s = await startTestServer({ buildConcurrency: 0, ...overrides });
  const w = await makeWorld(s);
  const t = await apiCall(s, w.adminToken, 'POST', '/admin/worker-tokens', { name });
  assert.equal(t.status, 201, JSON.stringify(t.body));
  let fetcher: GitFetcher | null = null;
  const make = workerGitFetcher({ cacheDir: join(root, name, 'git'), allowLocal: false });
  const worker = await startRemoteWorker({
    server: s.url, token: t.body.token, concurrency: 1, workDir: join(root, name), name,
    engine: createBuildahEngine({ workDir: join(root, name, 'buildah') }),
    git: (settings) => (fetcher = make(settings)),
  });
  return { fetcher: fetcher!, settings: worker.settings, stop: async () => { await worker.stop({ abandon: true }); await s.stop(); } };
}

const src = () => ({ url: gitHttp.url('web'), auth: { kind: 'none' as const }, cacheKey: cacheKeyFor(gitHttp.url('web')) });

test('a worker of a server with the default refuses a git host on loopback', async () => {
  const wk = await workerOf({}, 'strict');
  try {
    assert.equal(wk.settings.allowPrivateNetworks, false);
    await assert.rejects(wk.fetcher.resolveBranch(src(), 'main', {}), /destination 127\.0\.0\.1 is a private address \(loopback\); an administrator can allow it with allowPrivateNetworks/);
  } finally {
    await wk.stop();
  }
});

test('a worker of a server that allows 127.0.0.0/8 fetches from it', async () => {
  const wk = await workerOf({ allowPrivateNetworks: ['127.0.0.0/8'] }, 'open');
  try {
    assert.deepEqual(wk.settings.allowPrivateNetworks, ['127.0.0.0/8']);
    assert.equal(await wk.fetcher.resolveBranch(src(), 'main', {}), repo.head());
  } finally {
    await wk.stop();
  }
});
