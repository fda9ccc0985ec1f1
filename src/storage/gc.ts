import type { Dirent } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest, type Digest } from '../core/digest.ts';
import { randomId } from '../core/ids.ts';
import { storePaths, type StorePaths } from './paths.ts';
import { hashFile, isNotFound } from './fs-util.ts';

/**
 * Maintenance of the filesystem blob store for garbage collection and fsck. It knows files and digests, nothing of
 * repositories or the database: the decision that a blob is dead is made elsewhere (lifecycle/gc.ts), and this
 * module only carries it out in a way a crash cannot turn into data loss:
 *
 * - a swept blob is *renamed* into gc-trash/<batch>/ (atomic, and fast enough to do while the caller holds its
 *   database lock), and only deleted after the caller's transaction committed (purgeBatch);
 * - a batch directory left behind by a crash is resolved by the caller (recovery), which puts back every blob the
 *   database still needs (restore) and purges the rest.
 */

/** A file of the blob tree. `digest` is null for a stray file whose path is not a valid digest. */
export interface BlobEntry { digest: Digest | null; path: string; size: number; mtimeMs: number }

export interface BlobMaintenance {
  /** Every file under blobs/, in pages, with size and modification time. */
  list(pageSize?: number): AsyncIterable<BlobEntry[]>;
  /** Size and modification time of a blob, or null when it is not stored. */
  stat(digest: Digest): Promise<{ size: number; mtimeMs: number } | null>;
  /**
   * Moves blobs into gc-trash/<batchId>/, skipping those missing and those modified at or after `modifiedBefore`
   * (epoch ms: a blob written recently is never swept). Resolves to the blobs moved.
   */
  moveToTrash(batchId: string, digests: Digest[], modifiedBefore: number): Promise<Array<{ digest: Digest; size: number }>>;
  /** Batch directories present in gc-trash/ (normally none between runs). */
  trashBatches(): Promise<string[]>;
  /** Blobs in a trash batch. */
  trashContents(batchId: string): Promise<Array<{ digest: Digest; size: number }>>;
  /** Puts a trashed blob back (or drops the copy when blobs/ has it again). */
  restoreFromTrash(batchId: string, digest: Digest): Promise<void>;
  /** Deletes a trash batch; resolves to the bytes it held. */
  purgeBatch(batchId: string): Promise<number>;
  /** Re-hashes a blob: 'ok', 'corrupt' (content does not match its name) or 'missing'. */
  verify(digest: Digest, signal?: AbortSignal): Promise<'ok' | 'corrupt' | 'missing'>;
  /** Moves a blob file (or a stray file, by path) into quarantine/; resolves to false when it was gone. */
  quarantine(target: Digest | { path: string }): Promise<boolean>;
}

const HEX = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ } as const;

/** Blob maintenance for the filesystem store rooted at `root` (the same root as createFsBlobStore). */
export function createFsBlobMaintenance(opts: { root: string }): BlobMaintenance {
  const paths: StorePaths = storePaths(opts.root);
  const trashName = (d: Digest) => d.replace(':', '-');
  const fromTrashName = (name: string): Digest | null => {
    const d = name.replace('-', ':');
    return isDigest(d) ? d : null;
  };
  const batchDir = (batchId: string) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(batchId)) throw new Error(`invalid gc batch id ${batchId.slice(0, 70)}`);
    return join(paths.gcTrashDir, batchId);
  };

  async function statOf(path: string) {
    try {
      const st = await stat(path);
      return { size: st.size, mtimeMs: st.mtimeMs };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  return {
    async *list(pageSize = 1000) {
      let page: BlobEntry[] = [];
      const add = async (path: string, digest: Digest | null) => {
        const st = await statOf(path);
        if (st) page.push({ digest, path, ...st }); // else: swept meanwhile
      };
      for (const alg of await entries(paths.blobsDir)) {
        const algDir = join(paths.blobsDir, alg.name);
        if (!alg.isDirectory()) { await add(algDir, null); continue; }
        const re = HEX[alg.name as keyof typeof HEX];
        for (const fan of await entries(algDir)) {
          const fanDir = join(algDir, fan.name);
          if (!fan.isDirectory()) { await add(fanDir, null); continue; }
          for (const f of await entries(fanDir)) {
            const ok = f.isFile() && re !== undefined && re.test(f.name) && fan.name.length === 2 && f.name.startsWith(fan.name);
            await add(join(fanDir, f.name), ok ? (`${alg.name}:${f.name}` as Digest) : null);
            if (page.length >= pageSize) {
              yield page;
              page = [];
            }
          }
        }
      }
      if (page.length > 0) yield page;
    },

    stat: (digest) => statOf(paths.blob(digest)),

    async moveToTrash(batchId, digests, modifiedBefore) {
      const dir = batchDir(batchId);
      await mkdir(dir, { recursive: true });
      const moved: Array<{ digest: Digest; size: number }> = [];
      for (const digest of digests) {
        const src = paths.blob(digest);
        const st = await statOf(src);
        if (!st || st.mtimeMs >= modifiedBefore) continue;
        try {
          await rename(src, join(dir, trashName(digest)));
          moved.push({ digest, size: st.size });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return moved;
    },

    async trashBatches() {
      return (await listDir(paths.gcTrashDir)).filter((n) => /^[A-Za-z0-9_-]{1,64}$/.test(n));
    },

    async trashContents(batchId) {
      const dir = batchDir(batchId);
      const out: Array<{ digest: Digest; size: number }> = [];
      for (const name of await listDir(dir)) {
        const digest = fromTrashName(name);
        const st = digest ? await statOf(join(dir, name)) : null;
        if (digest && st) out.push({ digest, size: st.size });
      }
      return out;
    },

    async restoreFromTrash(batchId, digest) {
      const src = join(batchDir(batchId), trashName(digest));
      const dest = paths.blob(digest);
      if (await statOf(dest)) {
        await rm(src, { force: true });
        return;
      }
      await mkdir(join(dest, '..'), { recursive: true });
      await rename(src, dest);
    },

    async purgeBatch(batchId) {
      const dir = batchDir(batchId);
      let bytes = 0;
      for (const name of await listDir(dir)) bytes += (await statOf(join(dir, name)))?.size ?? 0;
      await rm(dir, { recursive: true, force: true });
      return bytes;
    },

    async verify(digest, signal) {
      const path = paths.blob(digest);
      try {
        const actual = await hashFile(path, digest.startsWith('sha512:') ? 'sha512' : 'sha256', signal);
        return actual === digest ? 'ok' : 'corrupt';
      } catch (err) {
        if (isNotFound(err)) return 'missing';
        throw err;
      }
    },

    async quarantine(target) {
      const src = typeof target === 'string' ? paths.blob(target) : target.path;
      const base = typeof target === 'string' ? trashName(target) : `stray-${randomId(6)}`;
      await mkdir(paths.quarantineDir, { recursive: true });
      try {
        await rename(src, join(paths.quarantineDir, `${base}.${Date.now()}`));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
  };
}

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (isNotFound(err) || code === 'ENOTDIR') return [];
    throw err;
  }
}
