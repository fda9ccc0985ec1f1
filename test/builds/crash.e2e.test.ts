import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxImage } from '../harness/busybox.ts';
import { freePort } from '../harness/tools.ts';
import { makeGitRepo } from '../support/git-repos.ts';
import { cli } from '../support/cli.ts';
import { ADMIN } from '../support/server.ts';

// Killing the server (kill -9) mid-build and starting it again never leaves the build "running".
const BIN = fileURLToPath(new URL('../../bin/buildgrid.mjs', import.meta.url));
let tmp: string;
let port: number;
let server: ChildProcess | null = null;

function serverEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env, BUILDGRID_PORT: String(port), BUILDGRID_HOST: '127.0.0.1', BUILDGRID_DATA_DIR: join(tmp, 'data'),
    BUILDGRID_PUBLIC_URL: `http://127.0.0.1:${port}`, BUILDGRID_ADMIN_EMAIL: ADMIN.email, BUILDGRID_ADMIN_PASSWORD: ADMIN.password,
    BUILDGRID_ALLOW_LOCAL_GIT: 'true', BUILDGRID_BUILD_HEARTBEAT_SECONDS: '0.5', BUILDGRID_BUILD_STALE_SECONDS: '3',
    BUILDGRID_BUILD_CONCURRENCY: '1', BUILDGRID_LOG_LEVEL: 'warn',
  };
}

async function startServer(): Promise<void> {
  server = spawn(process.execPath, [BIN, 'serve'], { env: serverEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr!.resume();
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server did not start');
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'bg-crash-'));
  port = await freePort();
  await startServer();
});
after(async () => {
  server?.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

test('a build interrupted by kill -9 is reclaimed after restart and finishes', async () => {
  const url = `http://127.0.0.1:${port}`;
  const env = { XDG_CONFIG_HOME: join(tmp, 'cfg') };
  assert.equal((await cli(['login', '--server', url, '--email', ADMIN.email, '--password-stdin'], env, ADMIN.password)).code, 0);
  assert.equal((await cli(['accounts', 'create', 'library'], env)).code, 0);
  assert.equal((await cli(['accounts', 'create', 'acme'], env)).code, 0);
  const img = await makeBusyboxImage(join(tmp, 'bb'));
  const imp = await cli(['import', img.layoutDir, 'library/busybox:1'], env);
  assert.equal(imp.code, 0, imp.stderr);
  const repo = await makeGitRepo(join(tmp, 'svc'), { Dockerfile: `FROM 127.0.0.1:${port}/library/busybox:1\nRUN echo working && sleep 6 && echo done > /done\n` });
  assert.equal((await cli(['apps', 'create', 'crashy', '--account', 'acme'], env)).code, 0);
  assert.equal((await cli(['services', 'add', 'acme/crashy', 'svc', '--git', repo.url], env)).code, 0);
  const dep = await cli(['deploy', 'acme/crashy', '--json'], env);
  assert.equal(dep.code, 0, dep.stderr);
  const id = dep.json.builds[0].id;
  // Wait until it is building, then kill the whole server without warning.
  for (let i = 0; ; i++) {
    const b = (await cli(['builds', 'acme/crashy', '--json'], env)).json[0];
    if (b.status === 'building') break;
    assert.ok(i < 120, `build never started (status ${b.status})`);
    await new Promise((r) => setTimeout(r, 250));
  }
  server!.kill('SIGKILL');
  await new Promise((r) => server!.once('exit', r));
  await startServer();
  let final: any = null;
  for (let i = 0; i < 240; i++) {
    const b = (await cli(['builds', 'acme/crashy', '--json'], env)).json.find((x: any) => x.id === id);
    if (['succeeded', 'failed', 'cancelled'].includes(b.status)) { final = b; break; }
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(final, 'the build reached a final state after the restart');
  assert.equal(final.status, 'succeeded', final.error);
  assert.equal(final.attempt, 2, 'it was reclaimed and retried once');
  const log = await cli(['logs', id], env);
  assert.match(log.stdout, /working/);
});
