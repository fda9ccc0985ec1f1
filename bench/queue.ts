// Queue benchmark: three teams share one BuildGrid; team A pushes 30 commits at once, then teams B and C push one each.
// How long do B and C wait for a worker? Fair queueing (the default: maxConcurrentBuildsPerAccount = half the build
// slots, round-robin across accounts) side by side with plain first come, first served (the same run with
// BUILDGRID_MAX_CONCURRENT_BUILDS_PER_ACCOUNT=0), in ONE run, ONE table.
//
//   npx tsx bench/queue.ts               full run (30-commit burst; ~5-8 min on the shared 2-core machine); writes bench/results/queue.md
//   options: --burst <n>                 commits team A pushes at once (default 30)
//            --out <file> | --out none   where to write the markdown (default bench/results/queue.md; none with a custom --burst)
//            --keep                      keep the temp dir (data dirs, server logs)
//
// The build is the real engine (buildah, as installed), kept fast: a two-line Dockerfile on the imported busybox
// (`FROM busybox` + `COPY commit.txt /`), no RUN step, so a build is git fetch + one COPY layer + push, a few seconds.
// Each mode gets a fresh server (BUILDGRID_BUILD_CONCURRENCY=2: one slot per core), identical repositories, and one
// warm-up build per team first (git mirrors and the base image cached), so the measured builds all cost the same.
// "Wait" is a build's queued phase: from the deploy request until a worker claimed it.

import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { makeGitRepo, type TestRepo } from '../test/support/git-repos.ts';
import { makeBusyboxImage } from '../test/harness/busybox.ts';
import { runOk } from '../test/harness/tools.ts';
import { argValue, log, runBench, runIfMain } from './lib/driver.ts';
import { ADMIN, ROOT, startBuildGrid, type BuildGridProc } from './lib/servers.ts';
import { apiOk } from './lib/build-world.ts';
import { fmtS, median } from './lib/build-report.ts';

const TEAMS = ['team-a', 'team-b', 'team-c'] as const;
const SLOTS = 2;

interface Options { burst: number; out: string | null; keep: boolean }

/** Parses the command line (see the usage at the top). */
export function parseOptions(argv: string[]): Options {
  const burst = Number(argValue(argv, '--burst') ?? 30);
  if (!Number.isInteger(burst) || burst < 1) throw new Error('--burst wants a positive integer');
  const out = argValue(argv, '--out');
  return {
    burst,
    out: out === 'none' ? null : out ? resolve(out) : burst === 30 ? join(ROOT, 'bench/results/queue.md') : null,
    keep: argv.includes('--keep'),
  };
}

/** One build as the API reports it, reduced to what the table needs. */
interface Timed { team: string; id: string; status: string; waitMs: number; runMs: number; finishedAt: number; createdAt: number }

/** What one mode measured. */
interface ModeResult { name: string; limit: string; burst: Timed[]; others: Timed[]; firstCreated: number }

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: buildah needs it (as BuildGrid does)');
  const tools = { buildah: 'apt-get install buildah', skopeo: 'apt-get install skopeo', git: 'apt-get install git' };
  await runBench({ prefix: 'bgqueue-', keep: o.keep, tools }, async ({ tmp, stops, started }) => {
    const busybox = await makeBusyboxImage(join(tmp.path, 'busybox'), { seed: 'bench-queue' });
    const results: ModeResult[] = [];
    const modes: Array<{ name: string; limit: string; env: Record<string, string> }> = [
      { name: 'fair queueing (default)', limit: `${Math.max(1, Math.floor(SLOTS / 2))} (half of ${SLOTS} slots)`, env: {} },
      { name: 'first come, first served', limit: 'off', env: { BUILDGRID_MAX_CONCURRENT_BUILDS_PER_ACCOUNT: '0' } },
    ];
    for (const mode of modes) {
      const dir = join(tmp.path, results.length ? 'fifo' : 'fair');
      await mkdir(dir, { recursive: true });
      const bg = await startBuildGrid(dir, join(dir, 'data'), {
        env: { BUILDGRID_ALLOW_LOCAL_GIT: 'true', BUILDGRID_BUILD_CONCURRENCY: String(SLOTS), NODE_ENV: 'production', ...mode.env },
      });
      stops.push(() => bg.daemon.stop(15_000));
      try {
        const repos = await makeRepos(join(dir, 'git'), o.burst, `${bg.host}/library/busybox:1`);
        results.push({ ...(await runMode(bg, mode.name, busybox.layoutDir, repos, o.burst)), limit: mode.limit });
      } finally {
        await bg.daemon.stop(15_000);
      }
    }
    const report = render(results, o.burst, Date.now() - started);
    process.stdout.write(report);
    if (o.out) {
      await mkdir(dirname(o.out), { recursive: true });
      await writeFile(o.out, report);
      log(`wrote ${o.out}`);
    }
  });
}

/** Team A's repository has branches c01…cNN (one commit each, on top of main); B's and C's have a branch `next`. */
async function makeRepos(root: string, burst: number, base: string): Promise<Record<string, TestRepo>> {
  const out: Record<string, TestRepo> = {};
  for (const team of TEAMS) {
    const repo = await makeGitRepo(join(root, team), { Dockerfile: `FROM ${base}\nCOPY commit.txt /commit.txt\n`, 'commit.txt': `${team} main\n` }, { message: 'first' });
    const branches = team === 'team-a' ? Array.from({ length: burst }, (_, i) => `c${String(i + 1).padStart(2, '0')}`) : ['next'];
    for (const b of branches) {
      await repo.checkout('main');
      await repo.branch(b);
      await repo.commit({ 'commit.txt': `${team} ${b}\n` }, `commit ${b}`);
    }
    await repo.checkout('main');
    out[team] = repo;
  }
  return out;
}

/** Seeds a fresh server, warms each team up with one build, then runs the burst and the two late pushes. */
async function runMode(bg: BuildGridProc, name: string, busyboxLayout: string, repos: Record<string, TestRepo>, burst: number): Promise<Omit<ModeResult, 'limit'>> {
  log(`${name}: seeding ${bg.url}`);
  const admin = (await apiOk<{ token: string }>(bg.url, null, 'POST', '/auth/login', ADMIN)).token;
  await apiOk(bg.url, admin, 'POST', '/accounts', { name: 'library' });
  await runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `admin:${admin}`, `oci:${busyboxLayout}:latest`, `docker://${bg.host}/library/busybox:1`], { timeoutMs: 120_000 });
  for (const team of TEAMS) {
    await apiOk(bg.url, admin, 'POST', '/accounts', { name: team });
    await apiOk(bg.url, admin, 'POST', `/accounts/${team}/apps`, { name: 'svc' });
    await apiOk(bg.url, admin, 'POST', `/accounts/${team}/apps/svc/services`, {
      name: 'web', gitUrl: repos[team]!.url, branch: 'main',
    });
  }
  const deploy = async (team: string, branch?: string): Promise<string> => {
    const r = await apiOk<{ builds: Array<{ id: string }> }>(bg.url, admin, 'POST', `/accounts/${team}/apps/svc/deploy`, branch ? { branch } : {});
    if (r.builds.length !== 1) throw new Error(`deploy ${team} ${branch ?? 'main'} queued ${r.builds.length} builds`);
    return r.builds[0]!.id;
  };
  log(`${name}: warm-up (one build per team)`);
  await waitAll(bg, admin, await Promise.all(TEAMS.map((t) => deploy(t))).then((ids) => ids.map((id, i) => ({ id, team: TEAMS[i]! }))));

  log(`${name}: team-a pushes ${burst} commits at once, then team-b and team-c one each`);
  const firstCreated = Date.now();
  const burstIds = await Promise.all(Array.from({ length: burst }, (_, i) => deploy('team-a', `c${String(i + 1).padStart(2, '0')}`)));
  const otherIds = [await deploy('team-b', 'next'), await deploy('team-c', 'next')];
  const done = await waitAll(bg, admin, [...burstIds.map((id) => ({ id, team: 'team-a' })), ...otherIds.map((id, i) => ({ id, team: TEAMS[i + 1]! }))]);
  const failed = done.filter((b) => b.status !== 'succeeded');
  if (failed.length) throw new Error(`${failed.length} builds did not succeed (first: ${failed[0]!.id} ${failed[0]!.status}); see the server log`);
  return { name, burst: done.filter((b) => b.team === 'team-a'), others: done.filter((b) => b.team !== 'team-a'), firstCreated };
}

/** Polls the builds until every one is final; their timings. */
async function waitAll(bg: BuildGridProc, token: string, builds: Array<{ id: string; team: string }>): Promise<Timed[]> {
  const until = Date.now() + 30 * 60_000;
  for (;;) {
    const views = await Promise.all(builds.map((b) => apiOk<any>(bg.url, token, 'GET', `/builds/${b.id}`)));
    if (views.every((v) => ['succeeded', 'failed', 'cancelled'].includes(v.status))) {
      return views.map((v, i) => {
        const queued = v.phases.find((p: any) => p.name === 'queued');
        const claimedAt = Date.parse(queued?.endedAt ?? v.startedAt ?? v.finishedAt);
        return {
          team: builds[i]!.team, id: v.id, status: v.status, createdAt: Date.parse(v.createdAt), finishedAt: Date.parse(v.finishedAt),
          waitMs: claimedAt - Date.parse(v.createdAt), runMs: Date.parse(v.finishedAt) - claimedAt,
        };
      });
    }
    if (Date.now() > until) throw new Error('builds still running after 30 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The markdown report: one table, fair next to first come first served. */
export function render(results: ModeResult[], burst: number, elapsedMs: number): string {
  const [fair, fifo] = results as [ModeResult, ModeResult];
  const longest = (m: ModeResult) => Math.max(...[...m.burst, ...m.others].map((b) => b.runMs));
  const waitOf = (m: ModeResult, team: string) => m.others.find((b) => b.team === team)!.waitMs;
  const lastA = (m: ModeResult) => Math.max(...m.burst.map((b) => b.finishedAt)) - m.firstCreated;
  const row = (label: string, f: (m: ModeResult) => string) => `| ${label} | ${f(fair)} | ${f(fifo)} |`;
  const verdict = (m: ModeResult) => Math.max(waitOf(m, 'team-b'), waitOf(m, 'team-c')) <= longest(m);
  return [
    `# Build queue: ${burst} commits from one team, one each from two others`,
    '',
    `Machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Linux ${release()}; ${SLOTS} build slots (BUILDGRID_BUILD_CONCURRENCY=${SLOTS}); engine buildah`,
    `(real builds: \`FROM busybox\` + one COPY, so every build costs about the same). Run took ${fmtS(elapsedMs)} s. Times in seconds.`,
    '',
    `| | ${fair.name} | ${fifo.name} |`,
    '| --- | --- | --- |',
    row('per-account limit', (m) => m.limit),
    row('team-b waited for a worker', (m) => fmtS(waitOf(m, 'team-b'))),
    row('team-c waited for a worker', (m) => fmtS(waitOf(m, 'team-c'))),
    row('one build, median (longest)', (m) => `${fmtS(median([...m.burst, ...m.others].map((b) => b.runMs)))} (${fmtS(longest(m))})`),
    row('team-b and team-c waited at most one build', (m) => (verdict(m) ? 'yes' : 'no')),
    row(`team-a: median wait of its ${burst} builds`, (m) => fmtS(median(m.burst.map((b) => b.waitMs)))),
    row(`team-a: all ${burst} built after`, (m) => fmtS(lastA(m))),
    '',
    `Wait = a build's queued phase (deploy request → a worker claims it). With ${SLOTS} slots the default limit is`,
    `${Math.max(1, Math.floor(SLOTS / 2))} build per account, so team-a's burst runs on one slot and the other stays free for the`,
    'next team: team-b can start at once and team-c waits for the first build to finish. The price is team-a\'s own',
    'burst, which runs one build at a time even while no other team needs the second slot (the limit is not',
    'work-conserving: see the last row); an operator who prefers throughput for a single busy team sets',
    'maxConcurrentBuildsPerAccount higher.',
    '',
  ].join('\n');
}

runIfMain(import.meta.url, main);
