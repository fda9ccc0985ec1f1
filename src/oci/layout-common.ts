import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, posix, resolve, sep } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { AppError } from '../core/errors.ts';
import type { Digest } from '../core/digest.ts';
import { DigestVerifier } from './verify.ts';

/** A manifest to store, with its exact bytes (the digest is over these bytes). */
export interface SourceManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
}

/** A blob to store. `open()` streams it and fails the stream (DIGEST_INVALID / SIZE_INVALID) if the bytes are off. */
export interface SourceBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  open(): Readable;
}

/** An image read from disk, ready to be pushed: blobs first, then manifests in order. */
export interface ImageSource {
  /** Manifests, children before the manifests that reference them (an index's image manifests, then the index). */
  manifests: SourceManifest[];
  /** Every blob the manifests reference, once each. */
  blobs: SourceBlob[];
  /** Digest of the top manifest (the last of `manifests`), the one to tag. */
  topDigest: Digest;
  /** Removes temporary files (archives are unpacked to a temp dir); blobs cannot be opened after. Idempotent. */
  close(): Promise<void>;
}

/** Options for reading an image source. */
export interface ReadImageOptions {
  /** Which image to take when the source holds several: an OCI `org.opencontainers.image.ref.name` / `io.containerd.image.name` annotation, or a docker RepoTag. Default: the first. */
  ref?: string;
  /** Parent directory for temporary files (unpacked archives, compressed layers). Default: the OS temp dir. */
  tmpDir?: string;
  signal?: AbortSignal;
}

/** An AppError INVALID. */
export function invalid(message: string): AppError {
  return new AppError('INVALID', message);
}

/** True when a file or directory exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Reads a small file whole. Throws INVALID when it is missing or larger than `maxBytes`; `what` names it in messages. */
export async function readBounded(path: string, maxBytes: number, what: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    throw invalid(`${what} is missing`);
  }
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) throw invalid(`${what} is ${size} bytes, more than the ${maxBytes} allowed`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** Parses JSON, throwing INVALID naming `what`. */
export function parseJson(bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid(`${what} is not valid JSON`);
  }
}

/**
 * Resolves `rel` (a path named inside an archive or layout, '/'-separated) under `root`. Throws INVALID for absolute
 * paths and for any path that would leave `root`.
 */
export function safeJoin(root: string, rel: string): string {
  const norm = posix.normalize(rel.replaceAll('\\', '/'));
  if (rel.includes('\0') || isAbsolute(norm) || norm === '..' || norm.startsWith('../')) {
    throw invalid(`unsafe path "${rel.slice(0, 200)}" in image source`);
  }
  const abs = resolve(root, norm);
  if (abs !== resolve(root) && !abs.startsWith(resolve(root) + sep)) {
    throw invalid(`unsafe path "${rel.slice(0, 200)}" in image source`);
  }
  return abs;
}

/** A SourceBlob over a file whose content must have `digest` and `size`. */
export function fileBlob(path: string, digest: Digest, size: number, mediaType: string): SourceBlob {
  return {
    digest,
    size,
    mediaType,
    open() {
      const verifier = new DigestVerifier({ expectedDigest: digest, expectedSize: size });
      return pipeline(createReadStream(path), verifier, () => {});
    },
  };
}

/** True when `ref` names one of `names`, allowing for Docker's implied `docker.io/library/` and `docker.io/`. */
export function refMatches(names: readonly (string | undefined)[], ref: string): boolean {
  const want = shortName(ref);
  return names.some((n) => n !== undefined && (n === ref || shortName(n) === want));
}

function shortName(name: string): string {
  return name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}
