// A stand-in for Docker Hub's node:20-bookworm-slim, made on this machine (no public registry is reachable here):
//   layer 1  a Debian 12 minbase root file system from Debian's mirror (mmdebstrap, with the slim image's dpkg
//            excludes), cached as a tarball under the system temp dir for a week — the mirror is the slow part;
//   layer 2  this host's Node.js (the node binary, npm and corepack as they are now, the headers node-gyp needs), the
//            host's CA bundle and extra CA certificates (the egress proxy's), and npm's global config with `cafile`
//            and `nodedir` like the host's, so `npm ci` and native builds work inside build steps here.
// Written as an unpacked `docker save` directory (manifest.json, config, layer tars), which BuildGrid's own import
// reader (src/oci/layout.ts) compresses into an OCI image.

import { existsSync, realpathSync } from 'node:fs';
import { cp, mkdir, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { hashFile } from '../../src/storage/fs-util.ts';
import { hostPlatform } from '../harness/busybox.ts';
import { run, runOk, which } from '../harness/tools.ts';

/** Debian's mirror as the base image's apt sources name it (the only one reachable from here). */
export const DEBIAN_MIRROR = 'http://deb.debian.org';
const SOURCES = [
  `deb ${DEBIAN_MIRROR}/debian bookworm main`,
  `deb ${DEBIAN_MIRROR}/debian bookworm-updates main`,
  `deb ${DEBIAN_MIRROR}/debian-security bookworm-security main`,
];
/** What debian:bookworm-slim leaves out, as dpkg options; written to /etc/dpkg/dpkg.cfg.d so later installs obey too. */
const SLIM_EXCLUDES = ['path-exclude=/usr/share/man/*', 'path-exclude=/usr/share/doc/*', 'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/locale/*', 'path-exclude=/usr/share/info/*'];
const CACHE_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** An image ready for import: an unpacked docker-archive directory, and what went into it. */
export interface NodeBaseImage {
  /** Directory with manifest.json (readImageSource takes it). */
  dir: string;
  /** The Node.js version in the image (this process's). */
  nodeVersion: string;
  /** Whether the Debian root file system came from the cache. */
  cachedRootfs: boolean;
  /** Uncompressed bytes of the two layers. */
  bytes: number;
}

/**
 * Why the base image cannot be made here (mmdebstrap missing, Debian's mirror or the npm registry unreachable — the
 * image's own build needs both), or null. Probes with curl, which uses the host's CA bundle as npm in the build will.
 */
export async function baseImageProblem(): Promise<string | null> {
  if (!which('mmdebstrap')) return 'mmdebstrap is not installed (scripts/install.sh installs it)';
  if (!which('curl')) return 'curl is not installed (scripts/install.sh installs it)';
  for (const url of [`${DEBIAN_MIRROR}/debian/dists/bookworm/InRelease`, 'https://registry.npmjs.org/typescript']) {
    const r = await run('curl', ['-sS', '-o', '/dev/null', '-I', '--max-time', '20', '-w', '%{http_code}', url], { timeoutMs: 30_000 });
    if (r.code !== 0 || !/^[23]/.test(r.stdout)) return `${url} is not reachable from here (${r.stderr.trim() || `HTTP ${r.stdout}`})`;
  }
  return null;
}

/**
 * The Debian 12 minbase tarball, from the cache under `cacheDir` when younger than a week, else made with mmdebstrap
 * (≈ 1–1.5 min) and stored there by rename (a concurrent maker wastes time, never a half-written file).
 * Rejects with mmdebstrap's output when it fails.
 */
export async function debianRootfs(cacheDir: string): Promise<{ path: string; cached: boolean }> {
  const path = join(cacheDir, 'debian-12-minbase-slim.tar');
  const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => Infinity);
  if (age < CACHE_MAX_AGE_MS) return { path, cached: true };
  await mkdir(cacheDir, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  try {
    await runOk('mmdebstrap', [
      '--variant=minbase', '--mode=root', '--format=tar', '--quiet', '--skip=output/dev',
      ...SLIM_EXCLUDES.map((o) => `--dpkgopt=${o}`),
      'bookworm', partial, ...SOURCES,
    ], { timeoutMs: 10 * 60_000 });
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
  return { path, cached: false };
}

/**
 * Where this Node.js is installed: the prefix (…/bin/node's grandparent) and the paths under it to ship — the node
 * binary, the npm/npx/corepack links, lib/node_modules (npm and corepack as they are now, upgrades included) and the
 * headers (include/node, what `nodedir` points node-gyp at).
 */
function nodeInstall(): { prefix: string; paths: string[] } {
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  const paths = ['bin/node', 'bin/npm', 'bin/npx', 'bin/corepack', 'lib/node_modules', 'include/node']
    .map((p) => join(prefix, p))
    .filter((p) => existsSync(p));
  for (const needed of ['bin/npm', 'include/node']) {
    if (!paths.includes(join(prefix, needed))) throw new Error(`this Node.js has no ${needed} under ${prefix}: cannot make a base image with npm from it`);
  }
  return { prefix, paths };
}

/** Copies `abs` (a host path) to the same place under `root`, symlinks as symlinks. */
async function copyIn(root: string, abs: string): Promise<void> {
  const dest = join(root, abs);
  await mkdir(dirname(dest), { recursive: true });
  await cp(abs, dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
}

/** Builds the Node.js + CA layer in `stage` (a fresh directory) and tars it to `out`. */
async function nodeLayer(stage: string, out: string): Promise<{ prefix: string }> {
  const { prefix, paths } = nodeInstall();
  for (const p of paths) await copyIn(stage, p);
  await copyIn(stage, '/etc/ssl/certs/ca-certificates.crt');
  const extraCas = '/usr/local/share/ca-certificates';
  if (existsSync(extraCas)) await copyIn(stage, extraCas);
  // npm reads its global config from <prefix>/etc/npmrc (here /usr/etc/npmrc), not /etc/npmrc.
  const npmrc = `cafile=/etc/ssl/certs/ca-certificates.crt\nnodedir=${prefix}\nfund=false\naudit=false\nupdate-notifier=false\n`;
  await mkdir(join(stage, prefix, 'etc'), { recursive: true });
  await writeFile(join(stage, prefix, 'etc', 'npmrc'), npmrc);
  await mkdir(join(stage, 'dev'), { mode: 0o755 }); // the rootfs tarball has no /dev (mmdebstrap --skip=output/dev)
  const entries = (await readdir(stage)).sort();
  await runOk('tar', ['--create', '--file', out, '--numeric-owner', '--owner=0', '--group=0', '-C', stage, ...entries], { timeoutMs: 300_000 });
  return { prefix };
}

/**
 * Makes the base image under `work` (a directory the caller owns and removes), taking the Debian tarball from
 * `cacheDir` (see debianRootfs). Needs root (mmdebstrap, file ownership) and the mirror; rejects with the failing
 * command's output otherwise.
 */
export async function makeNodeBaseImage(work: string, cacheDir: string): Promise<NodeBaseImage> {
  const rootfs = await debianRootfs(cacheDir);
  const dir = join(work, 'archive');
  await mkdir(dir, { recursive: true });
  await symlink(rootfs.path, join(dir, 'debian.tar'));
  const stage = join(work, 'node-stage');
  await mkdir(stage);
  const { prefix } = await nodeLayer(stage, join(dir, 'node.tar'));
  await rm(stage, { recursive: true, force: true });
  const layers = ['debian.tar', 'node.tar'];
  const diffIds = await Promise.all(layers.map((l) => hashFile(join(dir, l), 'sha256')));
  const bytes = (await Promise.all(layers.map((l) => stat(join(dir, l))))).reduce((s, st) => s + st.size, 0);
  const standard = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  const pathEnv = (standard.includes(join(prefix, 'bin')) ? standard : [join(prefix, 'bin'), ...standard]).join(':');
  const { architecture, os } = hostPlatform();
  const created = new Date().toISOString();
  const config = {
    architecture, os, created,
    config: { Env: [`PATH=${pathEnv}`, `NODE_VERSION=${process.versions.node}`], Cmd: ['node'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [
      { created, created_by: `mmdebstrap --variant=minbase bookworm (${DEBIAN_MIRROR}, slim dpkg excludes)` },
      { created, created_by: `BUILDGRID-TEST host Node.js ${process.versions.node} (${relative('/', prefix) || '/'}) + CA certificates + npmrc` },
    ],
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: ['node:20-bookworm-slim'], Layers: layers }]));
  return { dir, nodeVersion: process.versions.node, cachedRootfs: rootfs.cached, bytes };
}
