// Helpers of the self-build test: a git repository holding the working tree as it is now, one application built
// from one service, and reading an image's manifest and config through the
// registry.

import assert from 'node:assert/strict';
import { chmod, copyFile, lstat, mkdir, readlink, symlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitBuild } from '../builds/support.ts';
import { runOk } from '../harness/tools.ts';
import { makeGitRepo, type TestRepo } from '../support/git-repos.ts';
import type { TestServer } from '../support/server.ts';
import { apiCall, basic } from '../support/world.ts';

/** The repository's root (where the Dockerfile is). */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/**
 * A fresh git repository at `dir` with one commit holding every file git tracks in this checkout (`git ls-files`),
 * with its current content and mode — uncommitted edits included, files deleted from the tree left out, untracked
 * files not taken. Resolves to the repository and the number of files it holds; rejects if git does.
 */
export async function snapshotWorkingTree(dir: string): Promise<{ repo: TestRepo; files: number }> {
  const listed = (await runOk('git', ['ls-files', '-z'], { cwd: ROOT })).stdout.split('\0').filter(Boolean);
  const repo = await makeGitRepo(dir, {});
  let files = 0;
  for (const rel of listed) {
    const from = join(ROOT, rel);
    const st = await lstat(from).catch(() => null);
    if (!st || st.isDirectory()) continue; // deleted in the working tree, or a submodule
    const to = join(dir, rel);
    await mkdir(dirname(to), { recursive: true });
    if (st.isSymbolicLink()) await symlink(await readlink(from), to);
    else {
      await copyFile(from, to);
      await chmod(to, st.mode & 0o777);
    }
    files++;
  }
  await repo.git('add', '--all', '--force');
  await repo.commit({}, 'BuildGrid as it is in the working tree');
  return { repo, files };
}

/**
 * A BuildGrid outside this process (in a container) as the test helpers' TestServer: apiCall and waitBuild use only
 * its `url`; anything else (stop, host, dataDir…) is absent.
 */
export function remoteServer(url: string): TestServer {
  return { url } as TestServer;
}

/** What an image is made of, as the registry serves it. */
export interface ImageParts {
  manifest: { mediaType: string; config: { digest: string; size: number }; layers: Array<{ digest: string; size: number }> };
  /** The image config (`config` holds Entrypoint, Cmd, Env…). */
  config: { config: Record<string, any>; history?: Array<{ created_by?: string }> };
  /** Config plus layers: what a cold pull transfers. */
  compressedBytes: number;
}

/** Reads `repository:reference`'s manifest and config with registry credentials; throws on any non-200. */
export async function readImage(s: TestServer, creds: { username: string; password: string }, repository: string, reference: string): Promise<ImageParts> {
  const authorization = basic(creds.username, creds.password);
  const accept = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
  const m = await fetch(`${s.url}/v2/${repository}/manifests/${reference}`, { headers: { authorization, accept } });
  if (m.status !== 200) throw new Error(`manifest of ${repository}:${reference}: HTTP ${m.status} ${await m.text()}`);
  const manifest = (await m.json()) as ImageParts['manifest'];
  const c = await fetch(`${s.url}/v2/${repository}/blobs/${manifest.config.digest}`, { headers: { authorization } });
  if (c.status !== 200) throw new Error(`config of ${repository}:${reference}: HTTP ${c.status}`);
  const config = (await c.json()) as ImageParts['config'];
  const compressedBytes = manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
  return { manifest, config, compressedBytes };
}

/** The last `lines` lines of a build's log (the raw download, phases marked), for a failure message. */
export async function buildLogTail(s: TestServer, token: string, buildId: string, lines = 150): Promise<string> {
  const r = await fetch(`${s.url}/api/v1/builds/${buildId}/log.txt`, { headers: { authorization: `Bearer ${token}` } });
  return (await r.text()).trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Creates application `app` in `account` with one service (`service`: the API's service body), deploys it and waits
 * up to `timeoutMs` for the build. Resolves to the succeeded build's view and the service's; fails the test with the
 * end of the build log otherwise (and on any refused call).
 */
export async function buildOneService(
  server: TestServer, token: string, o: { account: string; app: string; service: Record<string, unknown>; timeoutMs: number },
): Promise<{ build: any; service: any }> {
  const app = await apiCall(server, token, 'POST', `/accounts/${o.account}/apps`, { name: o.app });
  assert.equal(app.status, 201, JSON.stringify(app.body));
  const appPath = `/accounts/${o.account}/apps/${app.body.slug}`;
  const svc = await apiCall(server, token, 'POST', `${appPath}/services`, o.service);
  assert.equal(svc.status, 201, JSON.stringify(svc.body));
  const dep = await apiCall(server, token, 'POST', `${appPath}/deploy`, {});
  assert.equal(dep.status, 202, JSON.stringify(dep.body));
  const b = await waitBuild(server, token, dep.body.builds[0].id, o.timeoutMs);
  if (b.status !== 'succeeded') assert.fail(`build ${b.status}: ${b.error}\n--- build log (end) ---\n${await buildLogTail(server, token, b.id)}`);
  return { build: b, service: svc.body };
}
