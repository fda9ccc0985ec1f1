// Cluster benchmark: registry read throughput of ONE BuildGrid node vs TWO nodes sharing one PostgreSQL and one blob
// store, behind the same load balancer, in ONE run, printed as ONE markdown table (the one-node column is the
// reference the two-node column is compared with).
//
//   npx tsx bench/cluster.ts            full run (~4 min on 2 cores); writes bench/results/cluster.md
//   npx tsx bench/cluster.ts --quick    smoke run (< 1.5 min, small sizes, 1 sample per cell); writes nothing unless --out
//   options: --out <file> | --out none   where to write the markdown (default: full → bench/results/cluster.md)
//            --reps <n>                  samples per cell (default 3 full, 1 quick); the table shows the best one
//            --storage s3|fs|both        blob store: s3rver (an S3-compatible server on loopback), a shared directory
//                                        (what an NFS / ReadWriteMany volume gives), or both (default)
//            --node-cores <n>            CPU cap per node through a cgroup quota (default 0.5; 0 = no cap)
//            --keep                      keep the temp dir (data dirs, logs) for inspection
//
// Layout: PostgreSQL (a throwaway cluster from Debian's binaries, or BUILDGRID_TEST_DATABASE_URL's server), the blob
// store, nodes A and B (`node bin/buildgrid.mjs serve`, separate processes, no build workers), and ONE nginx with two
// listeners: one proxies to A only, the other round-robins over A and B (HTTP/1.1 keep-alive upstreams, unbuffered).
// Every request goes through nginx in both columns, so the only difference is the number of nodes behind it. Load
// generators are external processes: wrk (manifest GETs), curl (blob GETs). Configurations alternate within each
// row (sample 1 of one node, of two nodes, sample 2 …) so drift hits both columns alike; each cell is the best sample.
//
// Every part (load generator, nginx, PostgreSQL, s3rver, both nodes) shares the same CPUs, so uncapped a second node
// could only use what the first leaves idle, and the figure would say nothing about scaling. So each node is capped
// (cgroup CPU quota, 0.5 core by default) as if it were a small machine of its own, leaving the rest to the shared
// parts; the notes say the cap and how busy each node was.

import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxImage, type BusyboxImage } from '../test/harness/busybox.ts';
import { freePort, run, runOk, startDaemon, which, type Daemon, type TempDir } from '../test/harness/tools.ts';
import { testPostgres, type TestPostgres } from '../test/support/postgres.ts';
import { basicHeader, curlOnce, curlParallel, expect200, fetchToken, wrk } from './lib/load.ts';
import { best, fmt, FOREIGN_LIMIT, noise, ok, ratio, sample, treeCpuNs, type Measured } from './lib/sampling.ts';
import { argValue, log, runBench, runIfMain } from './lib/driver.ts';
import { capCpu } from './lib/cpu-cap.ts';
import { buildGridCredentials, startBuildGrid, waitUp, type BuildGridProc } from './lib/servers.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const REPOS = { small: 'bench/busybox', big: 'bench/big' } as const;

type StorageKind = 's3' | 'fs';

/** Command-line options of the cluster benchmark. */
export interface Options {
  quick: boolean;
  reps: number;
  out: string | null;
  keep: boolean;
  storage: StorageKind[];
  /** CPU cap per node (cores; 0 = none), so each node stands in for a machine of its own. */
  nodeCores: number;
  bigLayerBytes: number;
  wrkSeconds: number;
}

/** Parses the command line (see the header comment). */
export function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const val = (name: string) => argValue(argv, name);
  const out = val('--out');
  const reps = val('--reps');
  const storage = val('--storage') ?? 'both';
  if (!['s3', 'fs', 'both'].includes(storage)) throw new Error(`--storage must be s3, fs or both (got ${storage})`);
  return {
    quick,
    reps: reps ? Math.max(1, Number(reps)) : quick ? 1 : 3,
    out: out === 'none' || out === '-' ? null : out ? resolve(out) : quick ? null : join(ROOT, 'bench/results/cluster.md'),
    keep: argv.includes('--keep'),
    storage: storage === 'both' ? ['s3', 'fs'] : [storage as StorageKind],
    nodeCores: val('--node-cores') !== undefined ? Math.max(0, Number(val('--node-cores'))) : 0.5,
    bigLayerBytes: quick ? 16 * MiB : 128 * MiB,
    wrkSeconds: quick ? 1 : 4,
  };
}

// ---------------------------------------------------------------------------------------------------------------- parts

/** s3rver (npm) as a separate process on a free loopback port, one bucket over `dir`. */
async function startS3rver(dir: string): Promise<{ env: Record<string, string>; daemon: Daemon }> {
  await mkdir(join(dir, 'data'), { recursive: true });
  const port = await freePort();
  const script = `import S3rver from 's3rver';
    await new S3rver({ address: '127.0.0.1', port: ${port}, silent: true, directory: ${JSON.stringify(join(dir, 'data'))}, configureBuckets: [{ name: 'bench' }] }).run();`;
  const daemon = await startDaemon(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, logFile: join(dir, 's3rver.log') });
  await waitUp(`http://127.0.0.1:${port}/`, daemon);
  return {
    daemon,
    env: {
      BUILDGRID_S3_BUCKET: 'bench', BUILDGRID_S3_ENDPOINT: `http://127.0.0.1:${port}`, BUILDGRID_S3_REGION: 'us-east-1',
      BUILDGRID_S3_ACCESS_KEY_ID: 'S3RVER', BUILDGRID_S3_SECRET_ACCESS_KEY: 'S3RVER', BUILDGRID_S3_FORCE_PATH_STYLE: 'true',
    },
  };
}

/** One nginx: `one` (port p1) proxies to the first backend only, `two` (p2, the public address) round-robins over both; both send Host: 127.0.0.1:p2. */
async function startBalancer(dir: string, backends: [number, number], [p1, p2]: [number, number]): Promise<{ one: string; two: string; version: string; stop(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const nginx = which('nginx') ?? which('/usr/sbin/nginx');
  if (!nginx) throw new Error('nginx is not installed (scripts/install.sh installs nginx-light)');
  const publicHost = `127.0.0.1:${p2}`;
  const tmpPaths = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `${k}_temp_path ${join(dir, k)};`).join(' ');
  const location = (upstream: string) => `location / { proxy_pass http://${upstream}; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host ${publicHost}; proxy_buffering on; proxy_buffer_size 64k; proxy_buffers 32 256k; proxy_busy_buffers_size 1m;
      proxy_max_temp_file_size 0; proxy_request_buffering off; client_max_body_size 0; proxy_read_timeout 300s; }`;
  const conf = `user root; worker_processes auto; daemon off; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http { access_log off; ${tmpPaths}
  upstream one { server 127.0.0.1:${backends[0]}; keepalive 128; }
  upstream two { server 127.0.0.1:${backends[0]}; server 127.0.0.1:${backends[1]}; keepalive 128; }
  server { listen 127.0.0.1:${p1}; ${location('one')} }
  server { listen 127.0.0.1:${p2}; ${location('two')} } }
`;
  await writeFile(join(dir, 'nginx.conf'), conf);
  const version = (await run(nginx, ['-v'])).stderr.trim().replace(/^nginx version: /, '');
  const d = await startDaemon(nginx, ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { logFile: join(dir, 'nginx.out') });
  await waitUp(`http://127.0.0.1:${p1}/healthz`, d);
  return { one: `http://127.0.0.1:${p1}`, two: `http://127.0.0.1:${p2}`, version, stop: () => d.stop(5_000) };
}

// ---------------------------------------------------------------------------------------------------------------- one variant

/** A result row: samples for one node and for two. */
interface ClusterRow { metric: string; unit: string; one: number[]; two: number[] }

interface VariantResult { storage: string; rows: ClusterRow[]; notes: string[] }

async function runVariant(kind: StorageKind, o: Options, pgServer: TestPostgres, images: { small: BusyboxImage; big: BusyboxImage }, tmp: string, stops: Array<() => Promise<void>>): Promise<VariantResult> {
  const dir = join(tmp, kind);
  await mkdir(dir, { recursive: true });
  const own: Array<() => Promise<void>> = [];
  const stopOwn = async () => { for (const s of own.splice(0).reverse()) await s().catch((e: unknown) => log(`cleanup: ${String(e)}`)); };
  stops.push(stopOwn);
  try {
    const db = await pgServer.createDatabase();
    own.push(() => db.drop());
    let storageEnv: Record<string, string> = {};
    let storageLabel = 'a directory both nodes share (like an NFS / ReadWriteMany volume)';
    if (kind === 's3') {
      const s3 = await startS3rver(join(dir, 's3'));
      own.push(() => s3.daemon.stop(5_000));
      storageEnv = s3.env;
      storageLabel = 's3rver 3.7 (S3-compatible, one node process) on loopback; blob GETs proxied by the nodes (no presigned redirect)';
    }
    const env = { BUILDGRID_DATABASE_URL: db.url, BUILDGRID_BUILD_CONCURRENCY: '0', ...storageEnv };
    // The public address (realm of the token challenge, audience of tokens) is the two-node listener; nginx sends
    // that Host to the nodes from both listeners, as one load-balanced name would.
    const [onePort, publicPort] = [await freePort(), await freePort()];
    const publicUrl = `http://127.0.0.1:${publicPort}`;
    const dataDir = join(dir, 'data');
    const a = await startBuildGrid(dir, dataDir, { env, logName: 'node-a.log', publicUrl }); // migrates
    own.push(() => a.daemon.stop(10_000));
    const b = await startBuildGrid(dir, dataDir, { env, logName: 'node-b.log', publicUrl });
    own.push(() => b.daemon.stop(10_000));
    let capNote = 'nodes not capped (--node-cores 0)';
    if (o.nodeCores > 0) {
      const caps = [a, b].map((n, i) => capCpu(n.daemon.pid, o.nodeCores, `bgcluster-${process.pid}-${kind}-${i}`));
      for (const c of caps) if (c) own.unshift(async () => c.release()); // released after the nodes have stopped
      capNote = caps.every(Boolean)
        ? `each node capped at ${o.nodeCores} core (${caps[0]!.how})`
        : `NOT capped: no writable cgroup CPU controller here (run as root on a machine with one) — both nodes share all ${cpus().length} CPUs`;
      if (!caps.every(Boolean)) log(capNote);
    }
    const lb = await startBalancer(join(dir, 'nginx'), [a.port, b.port], [onePort, publicPort]);
    own.push(() => lb.stop());

    const creds = await buildGridCredentials(a);
    const t0 = Date.now();
    for (const [k, img] of Object.entries(images) as Array<[keyof typeof REPOS, BusyboxImage]>) {
      await runOk('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `admin:${creds.adminToken}`, `oci:${img.layoutDir}:latest`, `docker://${b.host}/${REPOS[k]}:latest`], { timeoutMs: 300_000 });
    }
    log(`[${kind}] seeded through node B in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Tokens come from node A's token endpoint and must work on both nodes (one signing key in the cluster).
    const bearerSmall = `Bearer ${await fetchToken(`${a.url}/v2/token`, `127.0.0.1:${publicPort}`, REPOS.small, creds.reader)}`;
    const bearerBig = `Bearer ${await fetchToken(`${a.url}/v2/token`, `127.0.0.1:${publicPort}`, REPOS.big, creds.reader)}`;
    const bigLayer = images.big.layers.at(-1)!;
    const manifestPath = `/v2/${REPOS.small}/manifests/latest`;
    const blobPath = `/v2/${REPOS.big}/blobs/${bigLayer.digest}`;
    for (const node of [a, b]) {
      await expect200(`${node.url}${manifestPath}`, { Accept: OCI_MANIFEST, Authorization: bearerSmall }, `node ${node.port} manifest`);
      await expect200(`${node.url}${blobPath}`, { Authorization: bearerBig }, `node ${node.port} blob`, bigLayer.digest);
    }
    for (const base of [lb.one, lb.two]) await expect200(`${base}${blobPath}`, { Authorization: bearerBig }, `${base} blob`, bigLayer.digest);

    const bigMiB = (bigLayer.size / MiB).toFixed(0);
    const rows: ClusterRow[] = [];
    const wrkNotes: string[] = [];
    const busy = { a: 0, b: 0, seconds: 0 };
    const cpuOf = (n: BuildGridProc) => treeCpuNs(n.daemon.pid);
    /** One sample through `base`; for the two-node listener, also how much CPU each node used meanwhile. */
    const measure = async (base: string, fn: (base: string) => Promise<Measured>): Promise<number> => {
      const two = base === lb.two;
      const [ca, cb, t] = [cpuOf(a), cpuOf(b), Date.now()];
      const s = await sample(() => fn(base));
      if (two) {
        busy.a += cpuOf(a) - ca;
        busy.b += cpuOf(b) - cb;
        busy.seconds += (Date.now() - t) / 1000;
      }
      return s.value;
    };
    const wrkFn = (headers: Record<string, string>, conns: number, label: string) => async (base: string): Promise<Measured> => {
      const w = await wrk(`${base}${manifestPath}`, headers, conns, o.wrkSeconds);
      if (w.non2xx || w.errors) wrkNotes.push(`${label} via ${base === lb.two ? 'two nodes' : 'one node'}: ${w.non2xx} non-2xx, ${w.errors} socket errors`);
      return { value: w.non2xx ? NaN : w.rps, ops: w.requests };
    };
    const specs: Array<{ metric: string; unit: string; fn: (base: string) => Promise<Measured>; warm?: boolean }> = [
      { metric: 'manifest GET, Bearer auth, 64 connections', unit: 'req/s', fn: wrkFn({ Accept: OCI_MANIFEST, Authorization: bearerSmall }, 64, 'Bearer'), warm: true },
      { metric: 'manifest GET, Basic auth, 64 connections', unit: 'req/s', fn: wrkFn({ Accept: OCI_MANIFEST, Authorization: basicHeader(creds.reader) }, 64, 'Basic'), warm: true },
      { metric: `blob GET, 1 stream, ${bigMiB} MiB layer`, unit: 'MB/s', fn: async (base) => ({ value: (await curlOnce(`${base}${blobPath}`, { Authorization: bearerBig }, bigLayer.size)).mbps }) },
      { metric: `blob GET, 8 concurrent streams, ${bigMiB} MiB layer (aggregate)`, unit: 'MB/s', fn: async (base) => ({ value: await curlParallel(8, `${base}${blobPath}`, { Authorization: bearerBig }, bigLayer.size) }) },
    ];
    for (const spec of specs) {
      log(`[${kind}] ${spec.metric} ×${o.reps}`);
      if (spec.warm && !o.quick) for (const base of [lb.one, lb.two]) await wrk(`${base}${manifestPath}`, { Accept: OCI_MANIFEST, Authorization: bearerSmall }, 64, 1);
      const row: ClusterRow = { metric: spec.metric, unit: spec.unit, one: [], two: [] };
      for (let i = 0; i < o.reps; i++) {
        row.one.push(await measure(lb.one, spec.fn));
        row.two.push(await measure(lb.two, spec.fn));
      }
      rows.push(row);
    }
    const share = busy.a + busy.b > 0 ? (busy.b / (busy.a + busy.b)) * 100 : 0;
    const notes = [
      `Blob store: ${storageLabel}. Metadata: PostgreSQL ${pgServer.source.startsWith('throwaway') ? '(throwaway cluster from Debian\'s binaries)' : `(${pgServer.source})`}.`,
      `CPU: ${capNote}.`,
      `Two-node samples: node A used ${(busy.a / 1e9 / Math.max(busy.seconds, 1e-9)).toFixed(2)} cores and node B ${(busy.b / 1e9 / Math.max(busy.seconds, 1e-9)).toFixed(2)} cores on average (B did ${share.toFixed(0)}% of the nodes' CPU work).`,
      ...(wrkNotes.length ? [`wrk reported errors (samples with non-2xx responses count as n/a): ${wrkNotes.join('; ')}`] : []),
    ];
    return { storage: kind === 's3' ? 'PostgreSQL + S3 (s3rver)' : 'PostgreSQL + shared directory', rows, notes };
  } finally {
    await stopOwn();
  }
}

// ---------------------------------------------------------------------------------------------------------------- main

function renderTable(results: VariantResult[]): string {
  const lines = ['| backends | metric | 1 node | 2 nodes | 2 nodes vs 1 |', '|---|---|--:|--:|---|'];
  for (const v of results) {
    for (const r of v.rows) {
      const [one, two] = [best(r.one, 'higher'), best(r.two, 'higher')];
      const verdict = Number.isFinite(one) && Number.isFinite(two) ? `${ok(two >= one)} ${ratio(two, one)}` : '';
      lines.push(`| ${v.storage} | ${r.metric} (${r.unit}, higher is better) | ${fmt(one, r.unit)} | ${fmt(two, r.unit)} | ${verdict} |`);
    }
  }
  return lines.join('\n');
}

async function benchmark(o: Options, tmp: TempDir, stops: Array<() => Promise<void>>, started: number): Promise<void> {
  noise.maxWaitMs = o.quick ? 0 : 2000;
  const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const loadStart = loadavg();
  const pg = await testPostgres();
  if ('skip' in pg) throw new Error(`PostgreSQL is needed for the cluster benchmark: ${pg.skip}`);
  stops.push(() => pg.stop());
  const imgDir = join(tmp.path, 'images');
  const small = await makeBusyboxImage(join(imgDir, 'small'), { seed: 'cluster-small' });
  const big = await makeBusyboxImage(join(imgDir, 'big'), { layers: 1, layerSizeBytes: o.bigLayerBytes, seed: 'cluster-big' });
  const results: VariantResult[] = [];
  for (const kind of o.storage) results.push(await runVariant(kind, o, pg, { small, big }, tmp.path, stops));

  const wrkV = (await run('wrk', ['--version'])).stdout.split('\n')[0]!.replace(/ Copyright.*/, '').trim();
  const nginxV = (await run(which('nginx') ?? '/usr/sbin/nginx', ['-v'])).stderr.trim().replace(/^nginx version: /, '');
  const notes = [
    `Both columns go through the same nginx (${nginxV}, worker_processes auto, keep-alive upstreams, in-memory proxy buffers of 32 × 256 KiB, no temp files); "1 node" proxies to node A only, "2 nodes" round-robins over A and B. Nodes: \`buildgrid serve\` on PostgreSQL, no build workers; the reads are made as a viewer of the account with its registry credentials.`,
    `Manifest GET: ${wrkV}, 2 threads, 64 connections, ${o.wrkSeconds} s per sample${o.quick ? '' : ' after a 1 s warm-up'}, tag \`latest\` of a busybox image, \`Accept: ${OCI_MANIFEST}\`; Bearer = one token from node A's /v2/token on every request (valid on both nodes), Basic = registry username/password on every request.`,
    `Blob GET: curl to /dev/null, one process per stream, aggregate = streams × size / wall time; MB/s = 10⁶ bytes/s.`,
    ...results.flatMap((v) => v.notes.map((n) => `${v.storage}: ${n}`)),
    `Each cell is the best of ${o.reps} sample${o.reps > 1 ? 's' : ''}, the two columns interleaved. ${cpus().length} CPUs run everything (load generator, nginx, PostgreSQL, the blob store and the nodes); ${o.nodeCores > 0 ? `each node is capped at ${o.nodeCores} core so that it stands in for a small machine of its own, and the shared parts keep the rest` : 'the nodes are not capped, so a second node can only add the CPU the first leaves idle'}.`,
    noise.maxWaitMs > 0
      ? `Shared machine: each sample waited (≤ ${noise.maxWaitMs / 1000} s) for idle CPUs; ${noise.retries} re-runs; ${noise.disturbed} of ${noise.samples} kept samples had > ${FOREIGN_LIMIT} cores of foreign load (worst ${noise.worstForeign.toFixed(2)}). loadavg at start ${loadStart}, at end ${loadavg()}.`
      : `Quick mode: no idle wait, no re-runs; loadavg at start ${loadStart}, at end ${loadavg()}.`,
  ];
  const header = `Cluster benchmark${o.quick ? ' (QUICK smoke mode: small sizes, not for comparison)' : ''} — ${new Date().toISOString()}\n\n` +
    `Machine: ${cpus().length} CPUs (nproc) ${cpus()[0]?.model ?? 'unknown'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}; run took ${((Date.now() - started) / 1000).toFixed(0)} s.`;
  const md = `${header}\n\n${renderTable(results)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  const raw = results.flatMap((v) => v.rows.map((r) => `- ${v.storage}, ${r.metric}: 1 node [${r.one.map((x) => fmt(x, r.unit)).join(', ')}], 2 nodes [${r.two.map((x) => fmt(x, r.unit)).join(', ')}]`));
  process.stdout.write(md);
  if (o.out) {
    await mkdir(dirname(o.out), { recursive: true });
    await writeFile(o.out, `# ${md}\n<details><summary>All samples</summary>\n\n${raw.join('\n')}\n\n</details>\n`);
    log(`wrote ${o.out}`);
  }
  const failed = results.flatMap((v) => v.rows).filter((r) => [...r.one, ...r.two].some((x) => !Number.isFinite(x)));
  if (failed.length) {
    log(`rows with missing values: ${failed.map((r) => r.metric).join('; ')}`);
    process.exitCode = 1;
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const hint = (t: string) => `scripts/install.sh installs it: apt-get install ${t}`;
  await runBench({ prefix: 'bgcluster-', keep: o.keep, tools: { skopeo: hint('skopeo'), curl: hint('curl'), wrk: hint('wrk'), nginx: hint('nginx-light') } },
    ({ tmp, stops, started }) => benchmark(o, tmp, stops, started));
}

runIfMain(import.meta.url, main);
