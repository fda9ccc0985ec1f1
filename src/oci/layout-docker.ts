import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { z } from 'zod';
import { sha256Of, type Digest } from '../core/digest.ts';
import { randomId } from '../core/ids.ts';
import { MediaType } from './mediatypes.ts';
import { DigestVerifier } from './verify.ts';
import { startsWith } from './tar-extract.ts';
import {
  fileBlob,
  invalid,
  parseJson,
  readBounded,
  refMatches,
  safeJoin,
  type ImageSource,
  type SourceBlob,
} from './layout-common.ts';

const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** `docker save`'s manifest.json: one entry per saved image. */
const dockerManifest = z
  .array(
    z.object({
      Config: z.string().min(1),
      RepoTags: z.array(z.string()).nullish(),
      Layers: z.array(z.string().min(1)),
    }),
  )
  .min(1);

interface PreparedLayer {
  digest: Digest;
  size: number;
  /** The file to serve: the original when it was already gzip-compressed, else a compressed copy in workDir. */
  path: string;
  /** sha256 of the uncompressed tar, as the config's rootfs.diff_ids records it. */
  diffId: Digest;
}

/**
 * Reads an unpacked `docker save` archive (manifest.json with Config and Layers) and turns the chosen image (the one
 * whose RepoTags contain `ref`, else the first) into an OCI image manifest: the config blob as is, each layer
 * gzip-compressed into `workDir` (layers already gzip-compressed are kept) with its digest over the compressed bytes.
 * Each layer's uncompressed digest must equal the config's rootfs.diff_ids entry. Throws AppError INVALID.
 */
export async function readDockerArchive(
  dir: string,
  opts: { ref?: string; workDir: string; signal?: AbortSignal },
): Promise<Omit<ImageSource, 'close'>> {
  const parsed = dockerManifest.safeParse(parseJson(await readBounded(join(dir, 'manifest.json'), MAX_JSON_BYTES, 'manifest.json'), 'manifest.json'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`docker-archive manifest.json is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'schema mismatch'}`);
  }
  const entry = pickImage(parsed.data, opts.ref);

  const configBytes = await readBounded(safeJoin(dir, entry.Config), MAX_JSON_BYTES, `image config ${entry.Config}`);
  const diffIds = (parseJson(configBytes, `image config ${entry.Config}`) as { rootfs?: { diff_ids?: unknown } } | null)?.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== entry.Layers.length) {
    throw invalid(`image config ${entry.Config} has no rootfs.diff_ids matching its ${entry.Layers.length} layers`);
  }
  const configDigest = sha256Of(configBytes);

  await mkdir(opts.workDir, { recursive: true });
  const prepared = new Map<string, PreparedLayer>();
  const layers: PreparedLayer[] = [];
  for (const [i, name] of entry.Layers.entries()) {
    const path = safeJoin(dir, name);
    let layer = prepared.get(path);
    if (!layer) {
      layer = await prepareLayer(path, name, opts.workDir, opts.signal);
      prepared.set(path, layer);
    }
    if (layer.diffId !== diffIds[i]) {
      throw invalid(`layer ${name} has uncompressed digest ${layer.diffId}, but the config's rootfs.diff_ids[${i}] is ${String(diffIds[i])}`);
    }
    layers.push(layer);
  }

  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: MediaType.ociLayerGzip, digest: l.digest, size: l.size })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const topDigest = sha256Of(bytes);

  const blobs: SourceBlob[] = [fileBlob(safeJoin(dir, entry.Config), configDigest, configBytes.length, MediaType.ociConfig)];
  const seen = new Set<string>([configDigest]);
  for (const l of layers) {
    if (seen.has(l.digest)) continue;
    seen.add(l.digest);
    blobs.push(fileBlob(l.path, l.digest, l.size, MediaType.ociLayerGzip));
  }
  return { manifests: [{ digest: topDigest, mediaType: MediaType.ociManifest, bytes }], blobs, topDigest };
}

function pickImage<T extends { RepoTags?: string[] | null }>(images: T[], ref: string | undefined): T {
  if (ref === undefined) return images[0]!;
  const found = images.find((img) => refMatches(img.RepoTags ?? [], ref));
  if (!found) {
    const known = images.flatMap((img) => img.RepoTags ?? []);
    throw invalid(`no image tagged "${ref}" in the docker-archive (it has: ${known.length ? known.join(', ') : 'no tags'})`);
  }
  return found;
}

/** Hashes (and, unless already gzip-compressed, compresses into workDir) one layer tar. */
async function prepareLayer(path: string, name: string, workDir: string, signal?: AbortSignal): Promise<PreparedLayer> {
  let gzipped: boolean;
  try {
    gzipped = await startsWith(path, [0x1f, 0x8b]);
  } catch {
    throw invalid(`layer ${name} listed in manifest.json is missing from the docker-archive`);
  }
  if (await startsWith(path, [0x28, 0xb5, 0x2f, 0xfd])) {
    throw invalid(`layer ${name} is zstd-compressed, which import does not support; re-save it uncompressed`);
  }
  const uncompressed = new DigestVerifier();
  if (gzipped) {
    const raw = new DigestVerifier();
    await pipeline(createReadStream(path), raw, createGunzip(), uncompressed, discard(), { signal }).catch((err: unknown) => {
      const code = (err as { code?: unknown }).code;
      throw typeof code === 'string' && code.startsWith('Z_') ? invalid(`layer ${name} is not valid gzip: ${(err as Error).message}`) : err;
    });
    return { digest: raw.digest()!, size: raw.bytes, path, diffId: uncompressed.digest()! };
  }
  const out = join(workDir, `${randomId(12)}.tar.gz`);
  const compressed = new DigestVerifier();
  await pipeline(createReadStream(path), uncompressed, createGzip(), compressed, createWriteStream(out), { signal });
  return { digest: compressed.digest()!, size: compressed.bytes, path: out, diffId: uncompressed.digest()! };
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}
