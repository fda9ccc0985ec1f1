// The timed runs of the build benchmark: BuildGrid (`buildgrid deploy --wait`, and POST /deploy alone) and by hand
// (`git clone` + `buildah bud` + `buildah push` with BuildGrid's own buildah configuration and wrapper).

import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree, run, runOk, type RunResult } from '../../test/harness/tools.ts';
import type { TestRepo } from '../../test/support/git-repos.ts';
import { NS_SCRIPT, writeConfigs, type StorageDriver } from '../../src/builds/engines/buildah-support.ts'; // BuildGrid's own wrapper and config
import { api } from './load.ts';
import { BIN, ROOT, type BuildGridProc } from './servers.ts';
import { apiOk, type World } from './build-world.ts';

/** Aborted by the cleanup (Ctrl-C, failure): kills whatever by-hand buildah, git or CLI process is still running. */
export const abortAll = new AbortController();

/** One lane: its own repository copy, BuildGrid application and by-hand buildah storage (so every lane starts cold). */
export interface Lane {
  index: number;
  repo: TestRepo;
  /** BuildGrid application (namespace/slug) and the image repository it builds into. */
  app: string;
  bgRepository: string;
  /** By-hand image repository and kept buildah storage. */
  handRepository: string;
  hand: HandStore;
}

/** One BuildGrid deploy: wall time, its parts, and what the build did. */
export interface BgRun {
  totalMs: number;
  buildId: string;
  commit: string;
  digest: string;
  /** Named segments in order (ms), for the breakdown column. */
  parts: Array<[string, number]>;
  cacheHits: number;
  steps: number;
  layers: number | null;
  reused: boolean;
}

/** Runs a CLI command as a child process; also records when its first stdout byte arrived (the JSON result). */
function runCli(args: string[], env: Record<string, string>, timeoutMs = 600_000): Promise<{ code: number | null; stdout: string; stderr: string; t0: number; firstOut: number; t1: number }> {
  return new Promise((resolvePromise, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    abortAll.signal.addEventListener('abort', kill, { once: true });
    let stdout = '';
    let stderr = '';
    let firstOut = NaN;
    child.stdout.on('data', (c: Buffer) => {
      if (Number.isNaN(firstOut)) firstOut = Date.now();
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const timer = setTimeout(kill, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      abortAll.signal.removeEventListener('abort', kill);
      resolvePromise({ code, stdout, stderr, t0, firstOut, t1: Date.now() });
    });
  });
}

/** Runs `buildgrid deploy <app> --wait --json` as the developer and splits the wall time using the build's timestamps. */
export async function bgDeploy(bg: BuildGridProc, w: World, app: string, cliHome: string): Promise<BgRun> {
  const r = await runCli(['deploy', app, '--wait', '--json'], { BUILDGRID_SERVER: bg.url, BUILDGRID_TOKEN: w.devToken, HOME: cliHome, XDG_CONFIG_HOME: join(cliHome, '.config') });
  const { t0, t1, firstOut } = r;
  if (r.code !== 0) throw new Error(`buildgrid deploy ${app} failed (${r.code}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
  const out = JSON.parse(r.stdout) as { deployment: { createdAt: string }; builds: any[] };
  const b = out.builds[0];
  if (b.status !== 'succeeded') throw new Error(`build ${b.id} ${b.status}: ${b.error}`);
  const at = (iso: string | null | undefined): number => (iso ? Date.parse(iso) : NaN);
  const depAt = at(out.deployment.createdAt);
  const reused = at(b.createdAt) < t0; // an existing build was returned: nothing was built
  const logLines = (await apiOk<{ lines: Array<{ t: string; text: string; phase?: string }> }>(bg.url, w.devToken, 'GET', `/builds/${b.id}/log`)).lines;
  const steps = logLines.filter((l) => /^STEP \d+\/\d+: (?!FROM)/.test(l.text)).length;
  const cacheHits = logLines.filter((l) => /^--> Using cache/.test(l.text)).length;
  let parts: Array<[string, number]>;
  if (reused) {
    parts = [['cli start + ls-remote', depAt - t0], ['reply + GET build + print', firstOut - depAt], ['exit', t1 - firstOut]];
  } else {
    const phase = (n: string) => b.phases.find((p: any) => p.name === n) as { startedAt: string; endedAt: string } | undefined;
    const fetching = phase('fetching')!;
    const building = phase('building')!;
    const pushing = phase('pushing')!;
    // Log timestamps are the time a batch was stored (batches every 150 ms): ±0.15 s.
    const firstStep = at(logLines.find((l) => /^STEP 1\/\d+:/.test(l.text))?.t) || at(building.startedAt);
    const pushed = at(logLines.find((l) => /^\[buildgrid\] pushed /.test(l.text))?.t) || at(pushing.endedAt);
    parts = [
      ['cli start + ls-remote', at(b.createdAt) - t0],
      ['queue', at(b.startedAt) - at(b.createdAt)],
      ['fetch', at(fetching.endedAt) - at(fetching.startedAt)],
      ['pre-bud', firstStep - at(building.startedAt)],
      ['bud', at(pushing.startedAt) - firstStep],
      ['push', pushed - at(pushing.startedAt)],
      ['record', at(b.finishedAt) - pushed],
      ['cli poll', firstOut - at(b.finishedAt)],
      ['exit', t1 - firstOut],
    ];
  }
  return {
    totalMs: t1 - t0, buildId: b.id, commit: b.commit, digest: b.imageDigest, parts, cacheHits, steps, layers: b.layerCount, reused,
  };
}

/** POST /deploy as the developer, from this process (no CLI start): BuildGrid's no-op decision itself. */
export async function bgDeployApi(bg: BuildGridProc, w: World, app: string): Promise<number> {
  const [ns, slug] = app.split('/');
  const t0 = process.hrtime.bigint();
  const r = await api<any>(bg.url, w.devToken, 'POST', `/accounts/${ns}/apps/${slug}/deploy`, {});
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 202 || r.body.builds[0].status !== 'succeeded' || r.body.deployment.status !== 'succeeded') {
    throw new Error(`no-op POST /deploy did not answer "already built": ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  }
  return ms;
}

/**
 * Kept by-hand buildah storage of one lane: root, runroot, blob-info cache and the same private containers
 * configuration BuildGrid writes per build (written once here, outside the timed runs).
 */
export interface HandStore { dir: string; env: NodeJS.ProcessEnv; driver: string }

export async function makeHandStore(dir: string, driver: string, registry: string, adminToken: string): Promise<HandStore> {
  for (const d of ['root', 'runroot', 'bic']) await mkdir(join(dir, d), { recursive: true, mode: 0o700 });
  // The very configuration BuildGrid writes for a build (registries, containers, storage, policy, auth, environment).
  const env = await writeConfigs(dir, driver as StorageDriver, { registry, insecure: true, credentials: { username: 'admin', password: adminToken }, search: [] });
  return { dir, env, driver };
}

function buildah(store: HandStore, args: string[], timeoutMs = 600_000): Promise<RunResult> {
  const storeArgs = ['--root', join(store.dir, 'root'), '--runroot', join(store.dir, 'runroot'), '--storage-driver', store.driver];
  return run('unshare', [
    '--mount', '--propagation', 'private', '--', 'sh', '-c', NS_SCRIPT, 'bench-ns',
    join(store.dir, 'bic'), join(store.dir, 'tmp'), join(store.dir, 'regd'),
    'buildah', ...storeArgs, ...args,
  ], { env: store.env as Record<string, string>, replaceEnv: true, timeoutMs, signal: abortAll.signal });
}

const gitEnv = (home: string): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LC_ALL: 'C', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0',
});

export interface HandRun { totalMs: number; digest: string; parts: Array<[string, number]>; cacheHits: number; steps: number }

/** git clone (fresh dir) + buildah bud (lane storage) + buildah push, each timed. */
export async function handBuild(lane: Lane, registry: string, commit: string, runDir: string): Promise<HandRun> {
  const store = lane.hand;
  const src = join(runDir, 'src');
  const fail = (what: string, r: RunResult) => new Error(`by hand: ${what} failed (${r.code}):\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-1500)}`);
  const t0 = Date.now();
  const clone = await run('git', ['clone', '--quiet', '--branch', 'main', lane.repo.url, src], { env: gitEnv(join(store.dir, 'home')), replaceEnv: true, timeoutMs: 300_000, signal: abortAll.signal });
  if (clone.code !== 0) throw fail('git clone', clone);
  const t1 = Date.now();
  const tag = 'localhost/bench-hand:latest';
  const bud = await buildah(store, ['bud', '--isolation', 'chroot', '--layers', '--format', 'docker', '--pull=true', '--rm', '--force-rm',
    '--authfile', join(store.dir, 'auth.json'), '--signature-policy', join(store.dir, 'policy.json'),
    '-f', join(src, 'Dockerfile'), '-t', tag, src]);
  if (bud.code !== 0) throw fail('buildah bud', bud);
  const t2 = Date.now();
  const digestFile = join(runDir, 'digest');
  const push = await buildah(store, ['push', '--authfile', join(store.dir, 'auth.json'), '--signature-policy', join(store.dir, 'policy.json'),
    '--digestfile', digestFile, tag, `docker://${registry}/${lane.handRepository}:${commit}`]);
  if (push.code !== 0) throw fail('buildah push', push);
  const t3 = Date.now();
  const head = (await run('git', ['-C', src, 'rev-parse', 'HEAD'], { env: gitEnv(join(store.dir, 'home')), replaceEnv: true })).stdout.trim();
  if (head !== commit) throw new Error(`by hand: cloned ${head}, expected ${commit}`);
  const digest = (await readFile(digestFile, 'utf8').catch(() => '')).trim();
  await removeTree(runDir);
  const lines = bud.stdout.split('\n');
  return {
    totalMs: t3 - t0,
    digest,
    parts: [['clone', t1 - t0], ['bud', t2 - t1], ['push', t3 - t2]],
    cacheHits: lines.filter((l) => /^--> Using cache/.test(l)).length,
    steps: lines.filter((l) => /^STEP \d+\/\d+: (?!FROM)/.test(l)).length,
  };
}

/** The by-hand "decision only": git ls-remote of the branch + skopeo inspect of that commit's tag (ms per part). */
export async function handCheck(lane: Lane, registry: string, w: World): Promise<{ totalMs: number; parts: Array<[string, number]> }> {
  const t0 = Date.now();
  const ls = await runOk('git', ['ls-remote', lane.repo.url, 'refs/heads/main'], { env: gitEnv(join(lane.hand.dir, 'home')), replaceEnv: true });
  const sha = ls.stdout.split('\t')[0]!;
  const t1 = Date.now();
  await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `admin:${w.adminToken}`, `docker://${registry}/${lane.handRepository}:${sha}`]);
  const t2 = Date.now();
  return { totalMs: t2 - t0, parts: [['ls-remote', t1 - t0], ['skopeo inspect', t2 - t1]] };
}

/** skopeo inspect as the developer (BuildGrid credentials): the image is pullable and is the one reported. */
export async function verifyPullable(registry: string, w: World, repository: string, tag: string, digest: string): Promise<number> {
  const t0 = Date.now();
  const r = await runOk('skopeo', ['inspect', '--tls-verify=false', '--creds', `${w.devRegistry.username}:${w.devRegistry.password}`, `docker://${registry}/${repository}:${tag}`], {
    timeoutMs: 60_000,
  });
  const got = (JSON.parse(r.stdout) as { Digest: string }).Digest;
  if (got !== digest) throw new Error(`${repository}:${tag}: skopeo sees ${got}, expected ${digest}`);
  return Date.now() - t0;
}

/** The storage driver BuildGrid's buildah engine chose (it writes it next to each service's layer cache). */
export async function detectDriver(dataDir: string): Promise<string> {
  const cacheRoot = join(dataDir, 'buildah', 'cache');
  for (const ent of await readdir(cacheRoot).catch(() => [] as string[])) {
    const d = (await readFile(join(cacheRoot, ent, 'driver'), 'utf8').catch(() => '')).trim();
    if (d) return d;
  }
  throw new Error(`cannot tell which storage driver BuildGrid used (no ${cacheRoot}/*/driver)`);
}
