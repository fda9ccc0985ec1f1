// Build benchmark: BuildGrid (`buildgrid deploy --wait`) against doing the same by hand on the same machine
// (`git clone && buildah bud && buildah push` into the same BuildGrid registry as admin) — in ONE run, ONE table.
//
//   npx tsx bench/build.ts            full run (~5 min on 2 cores, longer on a busy machine); writes bench/results/build.md
//   npx tsx bench/build.ts --quick    smoke run (1 lane, 4 MiB asset, no idle waits: ~1 min of CPU, 1.5-4 min on the shared
//                                     2-core machine) — there is no bench/build.test.ts because of that; writes nothing unless --out
//   options: --out <file> | --out none   where to write the markdown (default: full → bench/results/build.md)
//            --lanes <n>                 independent repeats of the whole scenario (default 3 full, 1 quick); table = median
//            --asset-mib <n>             size of the generated binary asset in the repository (default 12 full, 4 quick)
//            --keep                      keep the temp dir (data dir, logs, by-hand buildah storage) for inspection
//            --sandbox on|off            BuildGrid's RUN-step sandbox (default on, as installed); off = chroot isolation
//                                        and the host network, as before the sandbox existed (for the comparison)
//
// The scenario, run once per "lane" (a lane = its own copy of the repository, its own BuildGrid application and its own
// by-hand buildah storage, so every lane starts cold):
//   1. first build      BuildGrid: `buildgrid deploy bench/sN --wait --json` (a separate CLI process, as a user would run
//                       it) on a fresh service (empty git mirror, empty layer cache).  By hand: `git clone` + `buildah bud`
//                       into fresh storage + `buildah push`.  Both end with the image pullable; that is then checked with
//                       `skopeo inspect` as a developer of the account (not part of the time).
//   2. no-op redeploy   the same commit again.  BuildGrid: `deploy --wait`.  By hand there is no memory of what was built,
//                       so two equivalents are measured: the naive re-run (clone + bud with the kept cache + push of
//                       blobs that all exist) and the "decision only" check (`git ls-remote` + `skopeo inspect` of the
//                       tag), which is what BuildGrid's no-op does — compared with the bare POST /deploy (no CLI start).
//   3. one-file rebuild commit a change to one small source file COPYed late in the Dockerfile; BuildGrid (layer cache
//                       kept per service) vs by hand with the lane's kept buildah storage (same cache).
//
// Fairness: the by-hand buildah runs with BuildGrid's flags (src/builds/engines/buildah.ts: --isolation chroot --layers
// --format docker --pull=true --rm --force-rm, the same storage driver, private containers.conf/registries.conf/
// storage.conf/policy.json, credentials in an auth file, and the same `unshare -m` wrapper that keeps buildah's
// blob-info cache per storage root instead of the host's /var/lib/containers/cache). BuildGrid's image labels
// (org.opencontainers.image.*) are not added by hand. With 2 cores everything runs one at a time; within a lane the
// order BuildGrid / by hand alternates between lanes, and each sample first waits (≤ 2 s) for a quiet machine and
// records how much CPU other processes used meanwhile (the machine is shared), and how much CPU ours used.


import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { run, runOk, type TempDir } from '../test/harness/tools.ts';
import { makeGitRepo } from '../test/support/git-repos.ts';
import { argValue, log, runBench, runIfMain } from './lib/driver.ts';
import { BIN, ROOT, startBuildGrid } from './lib/servers.ts';
import { apiOk, repoFiles, setUp } from './lib/build-world.ts';
import { abortAll, bgDeploy, bgDeployApi, detectDriver, handBuild, handCheck, makeHandStore, verifyPullable, type HandStore, type Lane } from './lib/build-runs.ts';
import { noise, sample, setServerPid } from './lib/build-sampling.ts';
import { fmtN, fmtS, median, ok, renderTable } from './lib/build-report.ts';

const MiB = 1024 * 1024;
const secs = (ms: number): number => ms / 1000;

// ---------------------------------------------------------------------------------------------------------------- options

/** What a run does (see the usage at the top). */
export interface Options {
  quick: boolean;
  lanes: number;
  out: string | null;
  keep: boolean;
  assetBytes: number;
  sandbox: boolean;
}

/** Parses the command line. */
export function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const val = (name: string) => argValue(argv, name);
  const out = val('--out');
  const lanes = val('--lanes');
  const asset = val('--asset-mib');
  return {
    quick,
    lanes: lanes ? Math.max(1, Number(lanes)) : quick ? 1 : 3,
    out: out === 'none' || out === '-' ? null : out ? resolve(out) : quick ? null : join(ROOT, 'bench/results/build.md'),
    keep: argv.includes('--keep'),
    assetBytes: Math.round((asset ? Number(asset) : quick ? 4 : 12) * MiB),
    sandbox: val('--sandbox') !== 'off',
  };
}

// ---------------------------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: buildah with chroot isolation and the mount namespace need it (as BuildGrid does)');
  const tools = { buildah: 'apt-get install buildah', skopeo: 'apt-get install skopeo', git: 'apt-get install git', unshare: 'apt-get install util-linux' };
  await runBench({ prefix: 'bgbuild-', keep: o.keep, tools, onCleanup: () => abortAll.abort() }, ({ tmp, stops, started }) => benchmark(o, tmp, stops, started));
}

async function benchmark(o: Options, tmp: TempDir, stops: Array<() => Promise<void>>, started: number): Promise<void> {
  noise.maxWaitMs = o.quick ? 0 : 2000;
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadStart = loadavg();

  log('starting BuildGrid');
  const bgDir = join(tmp.path, 'bg');
  await mkdir(bgDir);
  // Defaults everywhere (build concurrency = cores, heartbeat 5 s …) except what a local benchmark needs.
  const unsandboxed: Record<string, string> = o.sandbox ? {} : { BUILDGRID_BUILD_ISOLATION: 'chroot', BUILDGRID_BUILD_NETWORK: 'host' };
  const bg = await startBuildGrid(bgDir, join(bgDir, 'data'), { env: { BUILDGRID_ALLOW_LOCAL_GIT: 'true', NODE_ENV: 'production', ...unsandboxed } });
  stops.push(() => bg.daemon.stop(15_000));
  setServerPid(bg.daemon.pid);
  const w = await setUp(bg, tmp.path);
  const cliHome = join(tmp.path, 'cli-home');
  await mkdir(cliHome);
  log(`BuildGrid up and seeded in ${secs(Date.now() - started).toFixed(1)} s`);

  // CLI start-up alone (node + the compiled CLI's imports), measured with --version (full mode: after one warm-up run),
  // next to a bare `node -e 0`.
  const cliStart: number[] = [];
  const nodeStart: number[] = [];
  for (let i = o.quick ? 1 : 0; i < 3; i++) {
    const { r } = await sample(() => runOk(process.execPath, [BIN, '--version'], { cwd: ROOT, env: { HOME: cliHome } }));
    const n = await runOk(process.execPath, ['-e', '0']);
    if (i > 0) {
      cliStart.push(r.durationMs);
      nodeStart.push(n.durationMs);
    }
  }

  // Lanes: repository copies (different asset bytes per lane, so no lane can reuse another's blobs), apps, services.
  const lanes: Lane[] = [];
  for (let i = 1; i <= o.lanes; i++) {
    const dir = join(tmp.path, `lane${i}`);
    const repo = await makeGitRepo(join(dir, 'shop'), repoFiles(w.base, i), { message: 'shop: first version' });
    await mkdir(join(repo.path, 'assets'), { recursive: true });
    await writeFile(join(repo.path, 'assets', 'catalog.bin'), randomBytes(o.assetBytes));
    await writeFile(join(repo.path, 'assets', 'logo.svg'), `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>${i}</text></svg>\n`);
    await repo.commit({}, 'assets');
    const app = await apiOk(bg.url, w.devToken, 'POST', '/accounts/bench/apps', { name: `s${i}` });
    const svc = await apiOk(bg.url, w.devToken, 'POST', `/accounts/bench/apps/${app.slug}/services`, { name: 'web', gitUrl: repo.url, branch: 'main' });
    lanes.push({
      index: i, repo, app: `bench/${app.slug}`, bgRepository: svc.repository, handRepository: `bench/byhand-${i}/shop`,
      hand: undefined as unknown as HandStore,
    });
  }

  type Parts = Array<[string, number]>;
  const newRow = () => ({
    bg: [] as number[], hand: [] as number[], bgCpu: [] as number[], handCpu: [] as number[],
    bgParts: [] as Parts[], handParts: [] as Parts[], bgCpuParts: [] as Parts[], handCpuParts: [] as Parts[],
  });
  const rows = { first: newRow(), noop: newRow(), decide: newRow(), rebuild: newRow() };
  type RowKey = keyof typeof rows;
  const cache = { bgHits: [] as number[], handHits: [] as number[], steps: [] as number[], expected: 0 };
  const verifyMs: number[] = [];
  const foreignBy = new Map<RowKey, number[]>();
  let driver: string | null = null;
  const samplesText: string[] = [];
  const fmtParts = (parts: Parts) => parts.map(([n, v]) => `${n} ${fmtS(v)}`).join(', ');
  /** Stores one sample in its row. */
  const keep = (key: RowKey, who: 'bg' | 'hand', s: { cpuMs: number; cpuParts: Parts; foreign: number }, totalMs: number, parts: Parts, text: string) => {
    const row = rows[key];
    row[who].push(totalMs);
    (who === 'bg' ? row.bgCpu : row.handCpu).push(s.cpuMs);
    (who === 'bg' ? row.bgParts : row.handParts).push(parts);
    (who === 'bg' ? row.bgCpuParts : row.handCpuParts).push(s.cpuParts);
    (foreignBy.get(key) ?? foreignBy.set(key, []).get(key)!).push(s.foreign);
    samplesText.push(`- ${text}: ${fmtS(totalMs)} s (${fmtParts(parts)}); CPU ${fmtS(s.cpuMs)} s (${fmtParts(s.cpuParts)}); other processes ${s.foreign.toFixed(2)} cores`);
  };

  for (const lane of lanes) {
    const bgFirst = lane.index % 2 === 1;
    log(`lane ${lane.index}/${lanes.length} (${bgFirst ? 'BuildGrid first' : 'by hand first'})`);
    let runN = 0;
    const runDir = () => join(tmp.path, `lane${lane.index}`, `hand-run-${++runN}`);
    const both = async (bgStep: () => Promise<void>, handStep: () => Promise<void>) => {
      for (const step of bgFirst ? [bgStep, handStep] : [handStep, bgStep]) await step();
    };
    const L = `lane ${lane.index}`;

    // 1. first build, cold.
    let commit = lane.repo.head();
    await both(
      async () => {
        const s1 = await sample(() => bgDeploy(bg, w, lane.app, cliHome));
        if (s1.r.reused || s1.r.commit !== commit) throw new Error(`first deploy of ${lane.app} did not build ${commit}`);
        verifyMs.push(await verifyPullable(bg.host, w, lane.bgRepository, commit, s1.r.digest));
        keep('first', 'bg', s1, s1.r.totalMs, s1.r.parts, `${L} first build, BuildGrid (${s1.r.layers} layers)`);
      },
      async () => {
        if (!lane.hand) {
          driver ??= await detectDriver(bg.dataDir);
          lane.hand = await makeHandStore(join(tmp.path, `lane${lane.index}`, 'hand-store'), driver, bg.host, w.adminToken);
        }
        const s1 = await sample(() => handBuild(lane, bg.host, commit, runDir()));
        verifyMs.push(await verifyPullable(bg.host, w, lane.handRepository, commit, s1.r.digest));
        keep('first', 'hand', s1, s1.r.totalMs, s1.r.parts, `${L} first build, by hand`);
      },
    );

    // 2. no-op redeploy of the same commit: the full CLI, then the API call alone.
    await both(
      async () => {
        const s1 = await sample(() => bgDeploy(bg, w, lane.app, cliHome));
        if (!s1.r.reused || s1.r.commit !== commit) throw new Error(`no-op deploy of ${lane.app} built something (build ${s1.r.buildId})`);
        keep('noop', 'bg', s1, s1.r.totalMs, s1.r.parts, `${L} no-op, BuildGrid deploy --wait`);
        const s2 = await sample(() => bgDeployApi(bg, w, lane.app));
        keep('decide', 'bg', s2, s2.r, [['POST /deploy (ls-remote, find build, record deployment)', s2.r]], `${L} no-op, BuildGrid POST /deploy`);
      },
      async () => {
        const s1 = await sample(() => handBuild(lane, bg.host, commit, runDir()));
        keep('noop', 'hand', s1, s1.r.totalMs, s1.r.parts, `${L} no-op, by hand clone + bud + push (${s1.r.cacheHits}/${s1.r.steps} steps from cache)`);
        const s2 = await sample(() => handCheck(lane, bg.host, w));
        keep('decide', 'hand', s2, s2.r.totalMs, s2.r.parts, `${L} no-op, by hand ls-remote + skopeo inspect`);
      },
    );

    // 3. one-file change in a small source file copied late.
    const prev = await readFile(join(lane.repo.path, 'src/handlers.sh'), 'utf8');
    commit = await lane.repo.commit({ 'src/handlers.sh': prev.replace('shop v1', `shop v2 (lane ${lane.index})`) }, 'handlers: new greeting');
    // Steps before `COPY src/` are unchanged: ARG, ENV, RUN, WORKDIR, COPY assets, RUN, COPY config.
    const df = repoFiles(w.base, lane.index).Dockerfile!.split('\n').filter((l) => /^[A-Z]/.test(l) && !l.startsWith('FROM'));
    cache.expected = df.findIndex((l) => l.startsWith('COPY src/'));
    cache.steps.push(df.length);
    await both(
      async () => {
        const s1 = await sample(() => bgDeploy(bg, w, lane.app, cliHome));
        if (s1.r.reused || s1.r.commit !== commit) throw new Error(`rebuild of ${lane.app} did not build ${commit}`);
        verifyMs.push(await verifyPullable(bg.host, w, lane.bgRepository, commit, s1.r.digest));
        cache.bgHits.push(s1.r.cacheHits);
        keep('rebuild', 'bg', s1, s1.r.totalMs, s1.r.parts, `${L} one-file rebuild, BuildGrid (${s1.r.cacheHits}/${s1.r.steps} steps from cache)`);
      },
      async () => {
        const s1 = await sample(() => handBuild(lane, bg.host, commit, runDir()));
        verifyMs.push(await verifyPullable(bg.host, w, lane.handRepository, commit, s1.r.digest));
        cache.handHits.push(s1.r.cacheHits);
        keep('rebuild', 'hand', s1, s1.r.totalMs, s1.r.parts, `${L} one-file rebuild, by hand (${s1.r.cacheHits}/${s1.r.steps} steps from cache)`);
      },
    );
  }

  // ---- table
  const within15 = (b: number, h: number) => `${ok(b <= h * 1.15)} ${b <= h ? 'faster' : `+${(((b - h) / h) * 100).toFixed(0)}%`} (aim ≤ +15%)`;
  const under1s = (b: number) => `${ok(b < 1000)} ${fmtS(b)} s (aim < 1 s)`;
  const bgHits = median(cache.bgHits);
  const handHits = median(cache.handHits);
  const table = renderTable([
    { scenario: `first build, cold caches: \`deploy --wait\` → pullable vs clone + bud + push`, ...rows.first, aim: within15 },
    { scenario: 'no-op redeploy (same commit): `deploy --wait` vs clone + bud (all cached) + push (all blobs exist)', ...rows.noop, aim: (b) => under1s(b) },
    { scenario: 'no-op decision only: POST /deploy (no CLI) vs `git ls-remote` + `skopeo inspect` of the tag', ...rows.decide, aim: (b) => under1s(b) },
    {
      scenario: `one-file rebuild (warm layer cache): BuildGrid reused ${fmtN(bgHits)}/${cache.expected} unchanged steps, by hand ${fmtN(handHits)}/${cache.expected}`,
      ...rows.rebuild,
      aim: (b, h) => `${ok(bgHits >= cache.expected)} ${bgHits >= cache.expected ? 'reuses every unchanged layer' : `reuses only ${fmtN(bgHits)} of ${cache.expected} unchanged layers`}; ${within15(b, h)}`,
    },
  ]);

  // ---- machine and notes
  const version = async (cmd: string, args: string[]) => (await run(cmd, args).catch(() => null))?.stdout.split('\n')[0]!.trim() ?? `${cmd} ?`;
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const elapsed = secs(Date.now() - started).toFixed(0);
  const foreignMed = (k: RowKey) => (foreignBy.get(k)?.length ? median(foreignBy.get(k)!).toFixed(2) : '0');
  const header = `Build benchmark${o.quick ? ' (QUICK smoke mode: 1 lane, small asset, no idle waits — not for comparison)' : ''} — ${new Date().toISOString()}\n\n` +
    `Machine: ${cpus().length} CPUs (nproc) ${cpuModel}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Linux ${release()}, Node ${process.version}, ` +
    `${await version('buildah', ['--version'])}, ${await version('skopeo', ['--version'])}, ${await version('git', ['--version'])}; ` +
    `buildah storage driver ${driver ?? '?'}; BuildGrid's RUN sandbox ${o.sandbox ? 'on (runc, isolated network through slirp4netns, limits)' : 'OFF (chroot isolation, host network)'}; run took ${elapsed} s.`;
  const notes = [
    `Repository: a shell web app (6 small source/config files, a Dockerfile \`FROM ${w.base}\` with ${cache.steps[0] ?? '?'} steps: 2 RUN, 3 COPY, ARG/ENV/WORKDIR/USER/EXPOSE/CMD) plus one generated incompressible asset of ${(o.assetBytes / MiB).toFixed(0)} MiB. The one-file change edits \`src/handlers.sh\` (copied by \`COPY src/\`, step ${cache.expected + 1}); a full reuse means ${cache.expected} "Using cache" steps.`,
    `Values: median of ${o.lanes} lane${o.lanes > 1 ? 's' : ''} (each lane = own repository copy, own BuildGrid app/service, own by-hand buildah storage; order BuildGrid/by hand alternates per lane). BuildGrid's breakdown comes from the build's own timestamps (createdAt, claim, phase start/end) and log lines (first \`STEP 1/\`, \`[buildgrid] pushed\`; stored in 150 ms batches, so ±0.15 s): *cli start + ls-remote* = CLI process start → build row created (node + the compiled CLI's imports, POST /deploy with its \`git ls-remote\`); *queue* = created → claimed by a worker; *fetch* = git mirror fetch + checkout; *pre-bud* = engine set-up before buildah's first step (config files, janitor: \`buildah rm --all\` + \`buildah images\`); *bud*; *push* (\`buildah push\`); *record* = push done → build succeeded (\`buildah rmi\`, image facts, database); *cli poll* = succeeded → the CLI prints its result (\`--wait\` polls every 250 ms); *exit* = result printed → CLI process gone.`,
    `CPU s: user + system CPU time of our processes during the sample (BuildGrid server with its git and buildah children and the CLI; by hand: git, buildah, skopeo), medians — on a shared machine less disturbed by other load than wall time. The breakdown columns split it (second line) into *server* (the BuildGrid node process itself: API, registry side of the push, logs, database), *server's git + buildah* (its reaped child processes) and *others* (the CLI; by hand: git, buildah, skopeo). The server's idle timers (heartbeats, reaper) count where they fall.`,
    `CLI start-up alone (\`node bin/buildgrid.mjs --version\`, compiled dist/): median ${fmtS(median(cliStart))} s of ${cliStart.length} (${cliStart.map((x) => fmtS(x)).join(', ')}); a bare \`node -e 0\` took ${fmtS(median(nodeStart))} s.`,
    `By hand: \`git clone\` (fresh directory every time, file:// URL: pack transport, no hard links) → \`buildah bud --isolation chroot --layers --format docker --pull=true --rm --force-rm\` (fresh storage for the first build, then the lane's kept storage) → \`buildah push\` as admin (API token in an auth file) into \`bench/byhand-N/shop:<commit>\` of the same BuildGrid. Same driver, private config and \`unshare -m\` wrapper as BuildGrid; BuildGrid additionally sets 4 \`org.opencontainers.image.*\` labels (one LABEL instruction appended to a copy of the Dockerfile — hence 13 steps in BuildGrid's log against 12 by hand; \`created\` and \`revision\` differ every build, so that step never comes from the cache) and \`--retry 2\`. The no-op "decision only" row compares BuildGrid's POST /deploy (resolve branch head, find the succeeded build, record a deployment) with \`git ls-remote\` + \`skopeo inspect --raw\` — the by-hand way to learn the commit is already built.`,
    `Every built image was checked pullable afterwards with \`skopeo inspect\` as a developer of the account (BuildGrid credentials), digest = the one reported (median inspect ${fmtS(median(verifyMs))} s, not in the times). BuildGrid runs with defaults except BUILDGRID_ALLOW_LOCAL_GIT=true (one build per core, heartbeat 5 s); the CLI runs as the developer with BUILDGRID_SERVER/BUILDGRID_TOKEN.`,
    noise.maxWaitMs > 0
      ? `Shared machine: before each of the ${noise.samples} samples the driver waited (≤ 2 s, ≤ 0.5 s once 4 samples in a row found the machine busy; ${secs(noise.waitedMs).toFixed(0)} s in all) for ≥ 85% idle CPUs; ${noise.startedBusy} samples had to start on a busy machine. CPU used by other processes while a sample ran (cores, median): first build ${foreignMed('first')}, no-op ${foreignMed('noop')}, rebuild ${foreignMed('rebuild')}; samples are not re-run (a cold build cannot be). loadavg at start ${loadStart}, at end ${loadavg()}.`
      : `Quick mode: no idle wait (worst foreign load ${noise.worstForeign.toFixed(2)} cores); loadavg at start ${loadStart}, at end ${loadavg()}.`,
    `Aims (issue 3 §5): first build within 15% of by hand; no-op redeploy under one second; the one-file rebuild reuses every unchanged layer.`,
  ];
  const md = `${header}\n\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  process.stdout.write(md);
  if (o.out) {
    await mkdir(dirname(o.out), { recursive: true });
    await writeFile(o.out, `# ${md}\n<details><summary>All samples</summary>\n\n${samplesText.join('\n')}\n\n</details>\n`);
    log(`wrote ${o.out}`);
  }
}

runIfMain(import.meta.url, main);
