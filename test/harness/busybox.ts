// Builds a small, runnable busybox image locally (no network, no docker), as
//   1. an OCI image layout directory (oci-layout, index.json, blobs/sha256/…) — usable as `oci:<layoutDir>` (skopeo,
//      umoci, podman, buildah) or read blob-by-blob and pushed by our own code;
//   2. a docker-archive tar (the `docker save` format: manifest.json + config + <layer>/layer.tar) — usable with
//      `docker load -i` or `skopeo copy docker-archive:<file> …`.
// Uses only tar-stream + zlib + crypto. Deterministic: fixed mtimes/created, uid/gid 0, sorted entries, and the
// "random" benchmark data comes from AES-128-CTR keyed by (seed, layer index) — so the same options give the same
// digests on the same machine (the busybox binary is copied from the host, so digests differ between hosts).

import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { once, type EventEmitter } from 'node:events';
import { createReadStream, createWriteStream, readFileSync, realpathSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import * as tar from 'tar-stream';

export type ExtraFile = string | Buffer | { content: string | Buffer; mode?: number };

export interface BusyboxImageOptions {
  /**
   * Files to add, path (relative to /, a leading '/' is ignored) → content. They go into their OWN layer, placed right
   * after the busybox layer, so images that differ only in extraFiles still share the busybox base blob (handy for
   * dedup / cross-repo mount tests). Parent directories are created. Default mode 0644.
   */
  extraFiles?: Record<string, ExtraFile>;
  /** Number of extra layers of incompressible pseudo-random data (for benchmarks), after the above. Default 0. */
  layers?: number;
  /** Bytes of random file content per extra layer (the tar adds ~1.5 KiB). Default 1 MiB. Streamed, never buffered. */
  layerSizeBytes?: number;
  /** Seed for the random layers; change it to get different blobs of the same shape. Default 'buildgrid'. */
  seed?: string;
  /** ref name recorded in index.json (`org.opencontainers.image.ref.name`, i.e. `oci:<dir>:<tag>`). Default 'latest'. */
  tag?: string;
  /** RepoTags entry of the docker-archive. Default `busybox:<tag>`. */
  repoTag?: string;
  /** 'oci' (default): OCI media types. 'docker': Docker schema 2 media types (manifest, config, layers). */
  mediaTypes?: 'oci' | 'docker';
  /** gzip level of the busybox and extraFiles layers. Default 6. */
  gzipLevel?: number;
  /**
   * gzip level of the random layers. Default 0 (stored blocks: still valid gzip, ~270 MB/s to generate; level 1 is only
   * ~45 MB/s here and gains nothing on random data).
   */
  randomGzipLevel?: number;
  /** Static busybox binary to copy. Default: the first of /bin/busybox, /usr/bin/busybox that is statically linked. */
  busyboxPath?: string;
}

export interface BuiltLayer {
  /** Digest of the gzipped blob ("sha256:…"), as it appears in the manifest. */
  digest: string;
  /** Size of the gzipped blob in bytes. */
  size: number;
  /** Digest of the uncompressed tar (the rootfs diff_id). */
  diffId: string;
  /** Size of the uncompressed tar in bytes. */
  diffSize: number;
  mediaType: string;
  /** Path of the blob inside the OCI layout. */
  blobPath: string;
  /** 'busybox' | 'extra-files' | 'random-<i>' */
  role: string;
}

export interface BusyboxImage {
  /** OCI image layout directory (`<dir>/oci`). */
  layoutDir: string;
  /** docker-archive tar (`<dir>/docker-archive.tar`). */
  dockerArchive: string;
  /** Digest of the image manifest ("sha256:…"). */
  manifestDigest: string;
  /** Digest of the image config ("sha256:…"); also the image ID docker reports after load/pull. */
  configDigest: string;
  manifestMediaType: string;
  /** Exact manifest bytes (what a registry must serve for manifestDigest). */
  manifestBytes: Buffer;
  configBytes: Buffer;
  layers: BuiltLayer[];
  /** Tag recorded in index.json. */
  tag: string;
  /** Sum of the blob sizes (config + layers), i.e. bytes a client transfers on a cold pull. */
  totalBlobBytes: number;
  platform: { architecture: string; os: string; variant?: string };
}

type TarHeader = Partial<tar.Header> & Pick<tar.Header, 'name'>;

const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');
const CREATED = '2024-01-01T00:00:00Z';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const CHUNK = 1 << 20;

const MT = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

/** OCI platform of this machine (process.arch mapped to GOARCH names). */
export function hostPlatform(): { architecture: string; os: string; variant?: string } {
  const map: Record<string, { architecture: string; variant?: string }> = {
    x64: { architecture: 'amd64' },
    arm64: { architecture: 'arm64', variant: 'v8' },
    arm: { architecture: 'arm', variant: 'v7' },
    ia32: { architecture: '386' },
    ppc64: { architecture: 'ppc64le' },
    s390x: { architecture: 's390x' },
    riscv64: { architecture: 'riscv64' },
  };
  return { os: 'linux', ...(map[process.arch] ?? { architecture: process.arch }) };
}

/**
 * Finds a statically linked busybox on this host (Debian's busybox-static installs /bin/busybox; /usr/bin/busybox is
 * the same file on merged-/usr systems). Throws with an explanation if there is none.
 */
export function findStaticBusybox(): string {
  const candidates = ['/bin/busybox', '/usr/bin/busybox', '/usr/lib/busybox/busybox', '/usr/local/bin/busybox'];
  const tried: string[] = [];
  for (const p of candidates) {
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      continue;
    }
    if (isStaticElf(real)) return real;
    tried.push(`${p} (not static)`);
  }
  throw new Error(`no static busybox found (install Debian's busybox-static); tried: ${tried.join(', ') || candidates.join(', ')}`);
}

/** True if `path` is an ELF file without a PT_INTERP program header (i.e. not dynamically linked). */
function isStaticElf(path: string): boolean {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return false;
  }
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = buf[4] === 2;
  const le = buf[5] === 1;
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u64 = (o: number): number => Number(le ? buf.readBigUInt64LE(o) : buf.readBigUInt64BE(o));
  const phoff = is64 ? u64(0x20) : u32(0x1c);
  const phentsize = u16(is64 ? 0x36 : 0x2a);
  const phnum = u16(is64 ? 0x38 : 0x2c);
  for (let i = 0; i < phnum; i++) {
    if (u32(phoff + i * phentsize) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

/** Applet names of `busybox` (from `busybox --list`), with a small fixed fallback. Excludes "busybox" itself. */
function appletNames(busybox: string): string[] {
  const r = spawnSync(busybox, ['--list'], { encoding: 'utf8' });
  const names =
    r.status === 0 && r.stdout.trim()
      ? r.stdout.split('\n').map((s) => s.trim())
      : ['sh', 'ash', 'echo', 'cat', 'ls', 'sleep', 'true', 'false', 'env', 'id', 'mkdir', 'rm', 'cp', 'mv', 'wget', 'sha256sum'];
  return [...new Set(names.filter((n) => n && n !== 'busybox' && !n.includes('/')))].sort();
}

/**
 * Builds the busybox image under `dir` (created if needed): `<dir>/oci` (OCI layout) and `<dir>/docker-archive.tar`.
 * Contract: `dir` should be empty or non-existent (existing files with the same names are overwritten); the caller owns
 * `dir` and removes it. Peak memory is O(1 MiB) regardless of layer sizes; disk use is ~2× the layer bytes (OCI
 * blobs gzipped + docker-archive uncompressed). Rejects if no static busybox exists.
 * Layer order: busybox, [extra-files], [random-0 … random-(layers-1)].
 */
export async function makeBusyboxImage(dir: string, opts: BusyboxImageOptions = {}): Promise<BusyboxImage> {
  const mt = MT[opts.mediaTypes ?? 'oci'];
  const tag = opts.tag ?? 'latest';
  const layoutDir = join(dir, 'oci');
  const blobsDir = join(layoutDir, 'blobs', 'sha256');
  const workDir = join(dir, '.work');
  await mkdir(blobsDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const platform = hostPlatform();
  const busybox = opts.busyboxPath ?? findStaticBusybox();
  const gzipLevel = opts.gzipLevel ?? 6;
  const randomGzipLevel = opts.randomGzipLevel ?? 0;

  const layers: BuiltLayer[] = [];
  const rawTars: string[] = [];
  const history: Array<Record<string, unknown>> = [];
  const addLayer = async (role: string, level: number, fill: (pack: tar.Pack) => Promise<void>, createdBy: string) => {
    const rawTar = join(workDir, `${layers.length}.tar`);
    const l = await buildLayer(rawTar, blobsDir, level, mt.layer, role, fill);
    layers.push(l);
    rawTars.push(rawTar);
    history.push({ created: CREATED, created_by: createdBy });
  };

  // 1. busybox
  const applets = appletNames(busybox);
  const bbStat = await stat(busybox);
  await addLayer(
    'busybox',
    gzipLevel,
    async (pack) => {
      for (const d of ['bin', 'etc', 'home', 'root', 'sbin', 'tmp', 'usr', 'usr/bin', 'usr/sbin', 'var']) {
        const mode = d === 'tmp' ? 0o1777 : d === 'root' ? 0o700 : 0o755;
        await addEntry(pack, { name: d + '/', type: 'directory', mode });
      }
      await addStreamEntry(pack, { name: 'bin/busybox', mode: 0o755, size: bbStat.size }, createReadStream(busybox, { highWaterMark: CHUNK }));
      for (const a of applets) await addEntry(pack, { name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777 });
      await addEntry(pack, { name: 'etc/group', mode: 0o644 }, 'root:x:0:\nnobody:x:65534:\n');
      await addEntry(pack, { name: 'etc/passwd', mode: 0o644 }, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
    },
    'BUILDGRID-HARNESS busybox (static) + applet symlinks + /etc/passwd,/etc/group',
  );

  // 2. extra files
  const extra = Object.entries(opts.extraFiles ?? {})
    .map(([p, f]) => [p.replace(/^\/+/, ''), f] as const)
    .filter(([p]) => p.length > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (extra.length > 0) {
    await addLayer(
      'extra-files',
      gzipLevel,
      async (pack) => {
        const dirs = new Set<string>();
        for (const [p] of extra) {
          const parts = p.split('/');
          for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
        }
        for (const d of [...dirs].sort()) await addEntry(pack, { name: d + '/', type: 'directory', mode: 0o755 });
        for (const [p, f] of extra) {
          const content = typeof f === 'string' || Buffer.isBuffer(f) ? f : f.content;
          const mode = typeof f === 'string' || Buffer.isBuffer(f) ? 0o644 : (f.mode ?? 0o644);
          await addEntry(pack, { name: p, mode }, Buffer.from(content));
        }
      },
      `BUILDGRID-HARNESS extra files: ${extra.map(([p]) => p).join(' ')}`.slice(0, 500),
    );
  }

  // 3. random layers
  const nRandom = opts.layers ?? 0;
  const size = opts.layerSizeBytes ?? CHUNK;
  const seed = opts.seed ?? 'buildgrid';
  for (let i = 0; i < nRandom; i++) {
    await addLayer(
      `random-${i}`,
      randomGzipLevel,
      async (pack) => {
        await addEntry(pack, { name: 'data/', type: 'directory', mode: 0o755 });
        await addStreamEntry(pack, { name: `data/random-${i}.bin`, mode: 0o644, size }, pseudoRandom(`${seed}:${i}`, size));
      },
      `BUILDGRID-HARNESS random layer ${i} (${size} bytes, seed ${seed})`,
    );
  }

  // config + manifest + index
  const config = {
    created: CREATED,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: { Env: [PATH_ENV], Cmd: ['sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history,
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = await writeBlob(blobsDir, configBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: mt.manifest,
    config: { mediaType: mt.config, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = await writeBlob(blobsDir, manifestBytes);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: mt.manifest,
        digest: manifestDigest,
        size: manifestBytes.length,
        platform,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      },
    ],
  };
  await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));

  // docker-archive
  const dockerArchive = join(dir, 'docker-archive.tar');
  await writeDockerArchive(dockerArchive, {
    configName: `${hex(configDigest)}.json`,
    configBytes,
    repoTag: opts.repoTag ?? `busybox:${tag}`,
    layers: layers.map((l, i) => ({ dirName: hex(l.diffId), rawTar: rawTars[i]!, size: l.diffSize })),
  });
  await rm(workDir, { recursive: true, force: true });

  return {
    layoutDir,
    dockerArchive,
    manifestDigest,
    configDigest,
    manifestMediaType: mt.manifest,
    manifestBytes,
    configBytes,
    layers,
    tag,
    totalBlobBytes: configBytes.length + layers.reduce((s, l) => s + l.size, 0),
    platform,
  };
}

/** Deterministic incompressible bytes: AES-128-CTR keystream keyed by sha256(seed). Yields ≤1 MiB chunks. */
export async function* pseudoRandom(seed: string, size: number): AsyncGenerator<Buffer> {
  const key = createHash('sha256').update(seed).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const zeros = Buffer.alloc(CHUNK);
  let left = size;
  while (left > 0) {
    const n = Math.min(left, CHUNK);
    yield cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n));
    left -= n;
  }
}

function hex(digest: string): string {
  return digest.slice('sha256:'.length);
}

async function writeBlob(blobsDir: string, bytes: Buffer): Promise<string> {
  const h = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobsDir, h), bytes);
  return `sha256:${h}`;
}

function hashingTap(onDone: (digest: string, size: number) => void): Transform {
  const hash = createHash('sha256');
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      onDone(`sha256:${hash.digest('hex')}`, size);
      cb();
    },
  });
}

function header(h: TarHeader): TarHeader {
  return { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: FIXED_MTIME, ...h };
}

function addEntry(pack: tar.Pack, h: TarHeader, content?: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    if (content === undefined) pack.entry(header(h), cb);
    else pack.entry(header(h), typeof content === 'string' ? Buffer.from(content) : content, cb);
  });
}

async function addStreamEntry(pack: tar.Pack, h: TarHeader, source: AsyncIterable<Buffer>): Promise<void> {
  let entry!: ReturnType<tar.Pack['entry']>;
  const done = new Promise<void>((resolve, reject) => {
    entry = pack.entry(header(h), (err) => (err ? reject(err) : resolve()));
  });
  for await (const chunk of source) {
    // streamx backpressure: write() returns false until the pack's reader catches up, then 'drain' fires.
    if (!entry.write(chunk)) await once(entry as unknown as EventEmitter, 'drain');
  }
  (entry as unknown as { end(): void }).end();
  await done;
}

/**
 * Writes the uncompressed layer tar to `rawTar` (hashing → diff_id), then gzips it into the layout's blob dir
 * (hashing → digest). Two passes over the file keep memory flat and let the docker-archive reuse the raw tar.
 */
async function buildLayer(
  rawTar: string,
  blobsDir: string,
  level: number,
  mediaType: string,
  role: string,
  fill: (pack: tar.Pack) => Promise<void>,
): Promise<BuiltLayer> {
  let diffId = '';
  let diffSize = 0;
  const pack = tar.pack();
  const written = pipeline(
    pack,
    hashingTap((d, s) => {
      diffId = d;
      diffSize = s;
    }),
    createWriteStream(rawTar),
  );
  try {
    await fill(pack);
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await written.catch(() => undefined);
    throw e;
  }
  await written;

  let digest = '';
  let size = 0;
  const tmpBlob = join(blobsDir, `.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await pipeline(
    createReadStream(rawTar, { highWaterMark: CHUNK }),
    createGzip({ level, chunkSize: 64 * 1024 }),
    hashingTap((d, s) => {
      digest = d;
      size = s;
    }),
    createWriteStream(tmpBlob),
  );
  const blobPath = join(blobsDir, hex(digest));
  await rename(tmpBlob, blobPath);
  return { digest, size, diffId, diffSize, mediaType, blobPath, role };
}

async function writeDockerArchive(
  file: string,
  a: { configName: string; configBytes: Buffer; repoTag: string; layers: Array<{ dirName: string; rawTar: string; size: number }> },
): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(file));
  try {
    await addEntry(pack, { name: a.configName, mode: 0o644 }, a.configBytes);
    const seen = new Set<string>();
    for (const l of a.layers) {
      if (seen.has(l.dirName)) continue; // identical layers appear once; manifest.json lists them again
      seen.add(l.dirName);
      await addEntry(pack, { name: `${l.dirName}/`, type: 'directory', mode: 0o755 });
      await addStreamEntry(pack, { name: `${l.dirName}/layer.tar`, mode: 0o644, size: l.size }, createReadStream(l.rawTar, { highWaterMark: CHUNK }));
    }
    const manifest = [{ Config: a.configName, RepoTags: [a.repoTag], Layers: a.layers.map((l) => `${l.dirName}/layer.tar`) }];
    await addEntry(pack, { name: 'manifest.json', mode: 0o644 }, JSON.stringify(manifest));
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await written.catch(() => undefined);
    throw e;
  }
  await written;
}
