import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { isAppError } from '../core/errors.ts';
import { sha256Of, type Digest } from '../core/digest.ts';
import { parseManifest } from './manifest.ts';
import { MediaType } from './mediatypes.ts';
import { readImageSource, type ImageSource } from './layout.ts';

type TarEntry = { name: string; data?: Buffer | string; type?: 'file' | 'symlink' | 'directory'; linkname?: string };

async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name }, e.data ?? '');
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bg-layout-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const hex = (d: Digest) => d.slice('sha256:'.length);

/** A tiny image: one layer tar holding hello.txt, its config, and the files of an OCI layout for it. */
async function tinyImage(opts: { withIndex?: boolean } = {}) {
  const layerTar = await makeTar([{ name: 'hello.txt', data: 'hello from a layer\n' }]);
  const layerGz = gzipSync(layerTar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Of(layerTar)] } }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: sha256Of(config), size: config.length },
    layers: [{ mediaType: MediaType.ociLayerGzip, digest: sha256Of(layerGz), size: layerGz.length }],
  }));
  const manifestDesc = { mediaType: MediaType.ociManifest, digest: sha256Of(manifest), size: manifest.length };
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [{ ...manifestDesc, platform: { os: 'linux', architecture: 'amd64' } }],
  }));
  const top = opts.withIndex ? { mediaType: MediaType.ociIndex, digest: sha256Of(index), size: index.length } : manifestDesc;
  const indexJson = JSON.stringify({
    schemaVersion: 2,
    manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
  });
  const files: TarEntry[] = [
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', data: indexJson },
    ...[layerGz, config, manifest, ...(opts.withIndex ? [index] : [])].map((b) => ({ name: `blobs/sha256/${hex(sha256Of(b))}`, data: b })),
  ];
  return { layerTar, layerGz, config, manifest, index, files };
}

async function writeFiles(dir: string, files: TarEntry[]): Promise<void> {
  for (const f of files) {
    await mkdir(join(dir, f.name, '..'), { recursive: true });
    await writeFile(join(dir, f.name), f.data ?? '');
  }
}

async function assertBlobsVerify(src: ImageSource): Promise<void> {
  for (const b of src.blobs) {
    const bytes = await drain(b.open());
    assert.equal(bytes.length, b.size);
    assert.equal(sha256Of(bytes), b.digest);
  }
}

test('reads an OCI layout directory', () =>
  withDir(async (dir) => {
    const img = await tinyImage();
    await writeFiles(dir, img.files);
    const src = await readImageSource(dir);
    assert.equal(src.topDigest, sha256Of(img.manifest));
    assert.deepEqual(src.manifests, [{ digest: sha256Of(img.manifest), mediaType: MediaType.ociManifest, bytes: img.manifest }]);
    assert.deepEqual(src.blobs.map((b) => [b.digest, b.size]), [
      [sha256Of(img.config), img.config.length],
      [sha256Of(img.layerGz), img.layerGz.length],
    ]);
    await assertBlobsVerify(src);
    await src.close();
  }));

test('an OCI layout with an index lists children before the index, and ref picks the entry', () =>
  withDir(async (dir) => {
    const img = await tinyImage({ withIndex: true });
    await writeFiles(dir, img.files);
    const src = await readImageSource(dir, { ref: 'v1' });
    assert.equal(src.topDigest, sha256Of(img.index));
    assert.deepEqual(src.manifests.map((m) => m.digest), [sha256Of(img.manifest), sha256Of(img.index)]);
    assert.equal(src.manifests[1]!.mediaType, MediaType.ociIndex);
    await assertBlobsVerify(src);
    await assert.rejects(readImageSource(dir, { ref: 'v2' }), /no image named "v2".*v1/);
  }));

test('a corrupt blob fails its stream; a missing one fails the read', () =>
  withDir(async (dir) => {
    const img = await tinyImage();
    await writeFiles(dir, img.files);
    const layerPath = join(dir, 'blobs/sha256', hex(sha256Of(img.layerGz)));
    await writeFile(layerPath, Buffer.alloc(img.layerGz.length, 0));
    const src = await readImageSource(dir);
    const layer = src.blobs.find((b) => b.digest === sha256Of(img.layerGz))!;
    await assert.rejects(drain(layer.open()), (e) => isAppError(e, 'DIGEST_INVALID'));
    await rm(layerPath);
    await assert.rejects(readImageSource(dir), (e) => isAppError(e, 'INVALID') && /missing from the OCI layout/.test(e.message));
  }));

/** A legacy `docker save` tar: manifest.json, config, a layer, and the same layer again through a symlink. */
async function dockerArchive(img: Awaited<ReturnType<typeof tinyImage>>, diffIds?: Digest[]) {
  const config = diffIds
    ? Buffer.from(JSON.stringify({ ...JSON.parse(img.config.toString()), rootfs: { type: 'layers', diff_ids: diffIds } }))
    : Buffer.from(JSON.stringify({ ...JSON.parse(img.config.toString()), rootfs: { type: 'layers', diff_ids: [sha256Of(img.layerTar), sha256Of(img.layerTar)] } }));
  const configName = `${hex(sha256Of(config))}.json`;
  const manifestJson = JSON.stringify([
    { Config: configName, RepoTags: ['example/tiny:1'], Layers: ['aaa/layer.tar', 'bbb/layer.tar'] },
  ]);
  const tarBytes = await makeTar([
    { name: 'aaa/', type: 'directory' },
    { name: 'aaa/layer.tar', data: img.layerTar },
    { name: 'bbb/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
    { name: configName, data: config },
    { name: 'manifest.json', data: manifestJson },
    { name: 'repositories', data: '{}' },
  ]);
  return { tarBytes, config };
}

test('reads a docker-archive tar, compressing layers and building an OCI manifest', () =>
  withDir(async (dir) => {
    const img = await tinyImage();
    const { tarBytes, config } = await dockerArchive(img);
    const work = join(dir, 'work');
    await mkdir(work);
    for (const [file, bytes] of [['image.tar', tarBytes], ['image.tar.gz', gzipSync(tarBytes)]] as const) {
      await writeFile(join(dir, file), bytes);
      const src = await readImageSource(join(dir, file), { tmpDir: work, ref: 'example/tiny:1' });
      assert.equal(src.manifests.length, 1);
      const top = src.manifests[0]!;
      assert.equal(top.digest, src.topDigest);
      assert.equal(sha256Of(top.bytes), src.topDigest);
      const parsed = parseManifest(top.bytes, top.mediaType);
      assert.equal(parsed.mediaType, MediaType.ociManifest);
      assert.deepEqual(parsed.blobs[0], { mediaType: MediaType.ociConfig, digest: sha256Of(config), size: config.length });
      assert.equal(parsed.blobs.length, 3);
      assert.equal(parsed.blobs[1]!.digest, parsed.blobs[2]!.digest);
      assert.equal(parsed.blobs[1]!.mediaType, MediaType.ociLayerGzip);
      assert.equal(src.blobs.length, 2);
      await assertBlobsVerify(src);
      const layer = src.blobs.find((b) => b.digest === parsed.blobs[1]!.digest)!;
      assert.deepEqual(gunzipSync(await drain(layer.open())), img.layerTar);
      assert.deepEqual(await drain(src.blobs[0]!.open()), config);
      await src.close();
      assert.deepEqual(await readdir(work), []);
    }
  }));

test('a docker-archive holding an OCI layout keeps its digests', () =>
  withDir(async (dir) => {
    const img = await tinyImage();
    const tarBytes = await makeTar([
      ...img.files,
      { name: 'manifest.json', data: JSON.stringify([{ Config: `blobs/sha256/${hex(sha256Of(img.config))}`, RepoTags: ['x:1'], Layers: ['nope'] }]) },
    ]);
    await writeFile(join(dir, 'image.tar'), tarBytes);
    const src = await readImageSource(join(dir, 'image.tar'), { tmpDir: dir });
    try {
      assert.equal(src.topDigest, sha256Of(img.manifest));
      assert.deepEqual(src.blobs.map((b) => b.digest), [sha256Of(img.config), sha256Of(img.layerGz)]);
      await assertBlobsVerify(src);
    } finally {
      await src.close();
    }
  }));

test('malformed sources are INVALID with a clear message and leave no temp files', () =>
  withDir(async (dir) => {
    const work = join(dir, 'work');
    await mkdir(work);
    const img = await tinyImage();
    const cases: Array<[string, Buffer | null, RegExp]> = [
      ['missing.tar', null, /does not exist/],
      ['garbage.tar', Buffer.from('this is not a tar archive, not at all'.repeat(40)), /not an OCI layout or docker-archive: .* not a readable tar/],
      ['empty-tar.tar', await makeTar([{ name: 'readme.txt', data: 'hi' }]), /holds neither/],
      ['evil.tar', await makeTar([{ name: '../evil.txt', data: 'x' }]), /unsafe path/],
      ['bad-diffid.tar', (await dockerArchive(img, [sha256Of('a'), sha256Of('b')])).tarBytes, /rootfs\.diff_ids\[0\]/],
      ['bad-manifest.tar', await makeTar([{ name: 'manifest.json', data: '{"Config":1}' }]), /manifest\.json is malformed/],
    ];
    for (const [name, bytes, re] of cases) {
      if (bytes) await writeFile(join(dir, name), bytes);
      // A ref'd timer keeps the event loop alive while the reader settles, so a stall shows up as a named failure.
      const keepAlive = setTimeout(() => assert.fail(`${name}: readImageSource did not settle within 60 s`), 60_000);
      try {
        await assert.rejects(readImageSource(join(dir, name), { tmpDir: work }), (e) => isAppError(e, 'INVALID') && re.test(e.message));
      } finally {
        clearTimeout(keepAlive);
      }
      assert.deepEqual(await readdir(work), [], name);
    }
    await assert.rejects(readImageSource(work), /not an OCI layout or docker-archive: directory/);
    assert.deepEqual((await readdir(dir)).includes('evil.txt'), false);
  }));
