import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../core/digest.ts';
import type { BlobFile } from './types.ts';

/** Small filesystem helpers shared by the filesystem drivers. They know paths, not digests' meaning. */

/** True for "no such file or directory" (also ENOTDIR: a path component is a file). */
export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Flushes a file's data and metadata to stable storage. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Renames `src` (already fsynced) to `dest`, creating dest's directory. Replacing an existing `dest` is atomic on
 * POSIX, so two commits of the same content race harmlessly. The directory is then fsynced (best effort: not every
 * platform can open a directory) so the new name survives a crash.
 */
export async function renameIntoPlace(src: string, dest: string): Promise<void> {
  const dir = dirname(dest);
  await mkdir(dir, { recursive: true });
  await rename(src, dest);
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Directory fsync is unsupported on some platforms; the rename itself has happened.
  }
}

/** Hashes a whole file. */
export async function hashFile(path: string, algorithm: 'sha256' | 'sha512', signal?: AbortSignal): Promise<Digest> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash, { signal });
  return `${algorithm}:${hash.digest('hex')}` as Digest;
}

/** Writes `data` to a new file and fsyncs it before closing. */
export async function writeFileSynced(path: string, data: Buffer): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A BlobFile over an open FileHandle (positional reads; close is idempotent). */
export function blobFileOf(fh: FileHandle, size: number): BlobFile {
  let closed: Promise<void> | null = null;
  return {
    size,
    async read(buffer, offset, length, position) {
      const { bytesRead } = await fh.read(buffer, offset, length, position);
      return bytesRead;
    },
    close() {
      closed ??= fh.close();
      return closed;
    },
  };
}
