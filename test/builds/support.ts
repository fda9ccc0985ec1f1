import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxImage } from '../harness/busybox.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeWorld, apiCall, importImage, type World } from '../support/world.ts';

/** A server with builds enabled (fast heartbeats), the standard world, and busybox imported as library/busybox:1. */
export interface BuildWorld { s: TestServer; w: World; tmp: string; base: string; stop(): Promise<void> }

/** Sets up a BuildWorld. `overrides` go to the server config. */
export async function makeBuildWorld(overrides: Record<string, unknown> = {}): Promise<BuildWorld> {
  const tmp = mkdtempSync(join(tmpdir(), 'bg-bw-'));
  const s = await startTestServer({ allowLocalGit: true, buildHeartbeatSeconds: 1, buildStaleSeconds: 20, buildConcurrency: 2, ...overrides });
  const w = await makeWorld(s);
  const r = await apiCall(s, w.adminToken, 'POST', '/accounts', { name: 'library' });
  if (r.status !== 201) throw new Error(JSON.stringify(r.body));
  const img = await makeBusyboxImage(join(tmp, 'busybox'));
  await importImage(s.url, w.adminToken, img.layoutDir, 'library/busybox', '1');
  return {
    s, w, tmp, base: `${s.host}/library/busybox:1`,
    async stop() {
      await s.stop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Polls a build until it is final (or `timeoutMs`), resolving to its view. */
export async function waitBuild(s: TestServer, token: string, id: string, timeoutMs = 400_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await apiCall(s, token, 'GET', `/builds/${id}`);
    if (['succeeded', 'failed', 'cancelled'].includes(r.body.status)) return r.body;
    if (Date.now() > until) throw new Error(`build ${id} still ${r.body.status} after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 300));
  }
}

/** Polls a build until `pred` holds. */
export async function waitBuildState(s: TestServer, token: string, id: string, pred: (b: any) => boolean, timeoutMs = 120_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await apiCall(s, token, 'GET', `/builds/${id}`);
    if (pred(r.body)) return r.body;
    if (Date.now() > until) throw new Error(`build ${id} did not reach the state (now ${r.body.status})`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/** A Dockerfile on the imported busybox that exercises ARG, RUN, COPY and a second stage. */
export function dockerfile(base: string, extra = ''): string {
  return [
    `FROM ${base} AS prep`,
    'ARG GREETING=unset',
    'RUN echo "greeting=$GREETING" > /prep.txt',
    `FROM ${base}`,
    'ARG FLAVOR=plain',
    'COPY --from=prep /prep.txt /prep.txt',
    'COPY hello.txt /hello.txt',
    'RUN echo "flavor=$FLAVOR" > /flavor.txt',
    extra,
    'CMD ["sh", "-c", "cat /prep.txt /flavor.txt /hello.txt"]',
    '',
  ].join('\n');
}

/** The application's timeline once its newest deployment is no longer running (deployments conclude just after their last build). */
export async function timelineSettled(s: TestServer, token: string, appPath: string, timeoutMs = 30_000): Promise<any[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const t = await apiCall(s, token, 'GET', `${appPath}/timeline`);
    const dep = t.body.find((e: any) => e.kind === 'deployment');
    if (!dep || dep.status !== 'running' || Date.now() > until) return t.body;
    await new Promise((r) => setTimeout(r, 200));
  }
}
