import { copyFile, link, mkdir, open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { dirname, posix } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { safeJoin } from './layout-common.ts';

interface PendingLink {
  rel: string;
  target: string;
}

/**
 * Unpacks a tar (or gzip-compressed tar) into `dest`. Only regular files and directories are written; entry paths
 * that would leave `dest` throw AppError INVALID. Symlinks and hard links are never created as links: once every
 * file is written, each one whose target is a file inside the archive becomes a hard link (or copy) of that file —
 * old `docker save` archives link duplicate layers this way. Other errors (not a tar, truncated) are thrown as is.
 */
export async function extractTar(file: string, dest: string, signal?: AbortSignal): Promise<void> {
  const gzipped = await startsWith(file, [0x1f, 0x8b]);
  const extract = tar.extract();
  const links = new Map<string, PendingLink>();
  await mkdir(dest, { recursive: true });

  // Entries are taken with tar-stream's callback API (its async iterator can miss the end of a short archive and
  // wait forever); the pipeline settles once every entry has been consumed, or fails with the first error.
  extract.on('entry', (header, entry, next) => {
    handleEntry(header, entry as unknown as Readable).then(() => next(), (err: unknown) => extract.destroy(err as Error));
  });
  const handleEntry = async (header: tar.Header, entry: Readable) => {
    const { name, type, linkname } = header;
    const rel = posix.normalize(name.replaceAll('\\', '/')).replace(/\/+$/, '');
    let abs: string;
    try {
      abs = safeJoin(dest, rel);
    } catch (err) {
      entry.resume();
      throw err;
    }
    if (type === 'file' || type === 'contiguous-file' || type == null) {
      await mkdir(dirname(abs), { recursive: true });
      const fh = await open(abs, 'w');
      try {
        for await (const chunk of entry) await fh.write(chunk as Buffer);
      } finally {
        await fh.close();
      }
    } else if (type === 'directory') {
      await mkdir(abs, { recursive: true });
      entry.resume();
    } else {
      if ((type === 'symlink' || type === 'link') && linkname) {
        const target = type === 'symlink' ? posix.join(posix.dirname(rel), linkname) : posix.normalize(linkname);
        if (!linkname.startsWith('/')) links.set(rel, { rel, target });
      }
      entry.resume();
    }
  };
  await pipeline(createReadStream(file), gzipped ? createGunzip() : new PassThrough(), extract, { signal });

  for (const l of links.values()) {
    let target = l.target;
    for (let hops = 0; links.has(target) && hops < 16; hops++) target = links.get(target)!.target;
    let from: string;
    try {
      from = safeJoin(dest, target);
    } catch {
      continue; // points outside the archive: ignore it, as if it were absent
    }
    const st = await stat(from).catch(() => null);
    if (!st?.isFile()) continue;
    const to = safeJoin(dest, l.rel);
    if (await stat(to).then(() => true, () => false)) continue;
    await mkdir(dirname(to), { recursive: true });
    await link(from, to).catch(() => copyFile(from, to));
  }
}

/** True when the file starts with the given bytes. */
export async function startsWith(file: string, magic: number[]): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(magic.length);
    const { bytesRead } = await fh.read(buf, 0, magic.length, 0);
    return bytesRead === magic.length && magic.every((b, i) => buf[i] === b);
  } finally {
    await fh.close();
  }
}
