import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isAppError } from '../core/errors.ts';
import { digestOfLike, digestParts, type Digest } from '../core/digest.ts';
import { parseManifest, type Descriptor, type ParsedManifest } from './manifest.ts';
import { MediaType } from './mediatypes.ts';
import {
  exists,
  fileBlob,
  invalid,
  parseJson,
  readBounded,
  refMatches,
  type ImageSource,
  type SourceBlob,
  type SourceManifest,
} from './layout-common.ts';

/** Manifests and index.json larger than this are rejected (registries commonly cap manifests at 4 MiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** An index of indexes of … deeper than this is treated as malformed. */
const MAX_DEPTH = 4;

const REF_ANNOTATIONS = ['org.opencontainers.image.ref.name', 'io.containerd.image.name'];

/**
 * Reads an OCI image layout directory (oci-layout + index.json + blobs/<alg>/<hex>). Picks the index.json entry whose
 * ref annotation matches `ref`, else the first, and collects it with everything it references. Manifests are read
 * and verified now; blobs are only stat'ed (size) and verified as they are streamed. Throws AppError INVALID.
 */
export async function readOciLayout(dir: string, opts: { ref?: string } = {}): Promise<Omit<ImageSource, 'close'>> {
  const layout = parseJson(await readBounded(join(dir, 'oci-layout'), 64 * 1024, 'oci-layout'), 'oci-layout');
  const version = (layout as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (typeof version !== 'string' || !version.startsWith('1.')) {
    throw invalid(`unsupported OCI layout: oci-layout has imageLayoutVersion ${JSON.stringify(version)}, expected "1.0.0"`);
  }
  const indexBytes = await readBounded(join(dir, 'index.json'), MAX_MANIFEST_BYTES, 'index.json');
  const index = parse(indexBytes, MediaType.ociIndex, 'index.json');
  const top = pick(index.manifests, opts.ref);

  const manifests: SourceManifest[] = [];
  const blobs: SourceBlob[] = [];
  const seen = new Set<string>();

  async function addManifest(desc: Descriptor, parent: string, depth: number): Promise<void> {
    if (seen.has(desc.digest)) return;
    if (depth > MAX_DEPTH) throw invalid(`manifests nest deeper than ${MAX_DEPTH} levels under ${parent}`);
    seen.add(desc.digest);
    const bytes = await readBlob(dir, desc, parent);
    const parsed = parse(bytes, desc.mediaType, `manifest ${desc.digest}`);
    for (const child of parsed.manifests) await addManifest(child, `index ${desc.digest}`, depth + 1);
    for (const blob of parsed.blobs) await addBlob(blob, `manifest ${desc.digest}`);
    manifests.push({ digest: desc.digest, mediaType: parsed.mediaType, bytes });
  }

  async function addBlob(desc: Descriptor, parent: string): Promise<void> {
    if (seen.has(desc.digest)) return;
    seen.add(desc.digest);
    const path = blobPath(dir, desc.digest);
    const size = await stat(path).then((s) => s.size, () => null);
    if (size === null) {
      if (desc.urls?.length) return; // a foreign layer (fetched from its URLs by clients), never stored locally
      throw invalid(`blob ${desc.digest} referenced by ${parent} is missing from the OCI layout`);
    }
    if (size !== desc.size) {
      throw invalid(`blob ${desc.digest} in the OCI layout is ${size} bytes but ${parent} says ${desc.size}`);
    }
    blobs.push(fileBlob(path, desc.digest, desc.size, desc.mediaType));
  }

  await addManifest(top, 'index.json', 0);
  return { manifests, blobs, topDigest: top.digest };
}

function pick(entries: Descriptor[], ref: string | undefined): Descriptor {
  if (entries.length === 0) throw invalid('index.json lists no manifests');
  if (ref === undefined) return entries[0]!;
  const names = (d: Descriptor) => REF_ANNOTATIONS.map((a) => d.annotations?.[a]);
  const found = entries.find((d) => refMatches(names(d), ref));
  if (!found) {
    const known = entries.flatMap((d) => names(d).filter((n): n is string => n !== undefined));
    throw invalid(`no image named "${ref}" in index.json (it has: ${known.length ? known.join(', ') : 'no ref annotations'})`);
  }
  return found;
}

async function readBlob(dir: string, desc: Descriptor, parent: string): Promise<Buffer> {
  if (desc.size > MAX_MANIFEST_BYTES) throw invalid(`manifest ${desc.digest} is ${desc.size} bytes, more than allowed`);
  const path = blobPath(dir, desc.digest);
  if (!(await exists(path))) {
    throw invalid(`manifest ${desc.digest}${platformOf(desc)} referenced by ${parent} is missing from the OCI layout ` +
      '(an export of a multi-platform image that holds only some platforms? export one platform, or all of them)');
  }
  const bytes = await readBounded(path, MAX_MANIFEST_BYTES, `manifest ${desc.digest}`);
  if (bytes.length !== desc.size || digestOfLike(desc.digest, bytes) !== desc.digest) {
    throw invalid(`manifest ${desc.digest} in the OCI layout does not match its descriptor (corrupt layout?)`);
  }
  return bytes;
}

function parse(bytes: Buffer, mediaType: string | undefined, what: string): ParsedManifest {
  try {
    return parseManifest(bytes, mediaType);
  } catch (err) {
    if (isAppError(err, 'MANIFEST_INVALID')) throw invalid(`${what}: ${err.message}`);
    throw err;
  }
}

function blobPath(dir: string, digest: Digest): string {
  const { algorithm, hex } = digestParts(digest); // digests were validated by the manifest schema
  return join(dir, 'blobs', algorithm, hex);
}

function platformOf(desc: Descriptor): string {
  const p = desc.platform as { os?: unknown; architecture?: unknown; variant?: unknown } | undefined;
  if (typeof p?.os !== 'string' || typeof p.architecture !== 'string') return '';
  return ` (${p.os}/${p.architecture}${typeof p.variant === 'string' ? `/${p.variant}` : ''})`;
}
