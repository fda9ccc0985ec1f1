import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { isDigest, type Digest } from '../core/digest.ts';
import { randomId } from '../core/ids.ts';
import type { BlobEntry, BlobMaintenance } from './gc.ts';
import { describeBucket, type S3Settings } from './s3-client.ts';
import { s3Keys } from './s3-keys.ts';
import { copyObject, deleteObject, getStream, headInfo, listDirs, listObjects, type Bucket } from './s3-objects.ts';

const HEX = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ } as const;

/**
 * Blob maintenance (garbage collection, fsck) for the S3 store; the contract is the filesystem one (gc.ts). S3 has
 * no rename, so "move" is a server-side copy followed by a delete of the source: a crash between the two leaves
 * the blob in both places, which recovery resolves exactly like a filesystem batch (restore what the database
 * still needs, purge the rest). Modification times are the objects' LastModified.
 */
export function createS3BlobMaintenance(opts: { client: S3Client; settings: Pick<S3Settings, 'bucket' | 'endpoint' | 'region'>; prefix?: string }): BlobMaintenance {
  const b: Bucket = { client: opts.client, bucket: opts.settings.bucket, where: describeBucket(opts.settings) };
  const keys = s3Keys(opts.prefix);
  const trashName = (d: Digest) => d.replace(':', '-');
  const fromTrashName = (name: string): Digest | null => {
    const d = name.replace('-', ':');
    return isDigest(d) ? d : null;
  };
  const batchDir = (batchId: string) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(batchId)) throw new Error(`invalid gc batch id ${batchId.slice(0, 70)}`);
    return `${keys.gcTrashDir}${batchId}/`;
  };
  /** Copies then deletes (S3's rename); false when the source was gone. */
  const move = async (from: string, to: string): Promise<boolean> => {
    const st = await headInfo(b, from);
    if (!st) return false;
    await copyObject(b, from, to, st.size);
    await deleteObject(b, from);
    return true;
  };

  return {
    async *list(pageSize = 1000) {
      // ListObjectsV2 pages are 1,000 keys; re-page to the caller's size.
      let page: BlobEntry[] = [];
      for (const o of await listObjects(b, keys.blobsDir)) {
        const [alg, fan, name, ...rest] = o.key.slice(keys.blobsDir.length).split('/');
        const re = HEX[alg as keyof typeof HEX];
        const ok = rest.length === 0 && re !== undefined && name !== undefined && re.test(name) && fan?.length === 2 && name.startsWith(fan);
        page.push({ digest: ok ? (`${alg}:${name}` as Digest) : null, path: o.key, size: o.size, mtimeMs: o.lastModified });
        if (page.length >= pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },

    stat: (digest) => headInfo(b, keys.blob(digest)),

    async moveToTrash(batchId, digests, modifiedBefore) {
      const dir = batchDir(batchId);
      const moved: Array<{ digest: Digest; size: number }> = [];
      for (const digest of digests) {
        const src = keys.blob(digest);
        const st = await headInfo(b, src);
        if (!st || st.mtimeMs >= modifiedBefore) continue;
        await copyObject(b, src, `${dir}${trashName(digest)}`, st.size);
        await deleteObject(b, src);
        moved.push({ digest, size: st.size });
      }
      return moved;
    },

    async trashBatches() {
      return (await listDirs(b, keys.gcTrashDir)).filter((n) => /^[A-Za-z0-9_-]{1,64}$/.test(n)).sort();
    },

    async trashContents(batchId) {
      const dir = batchDir(batchId);
      const out: Array<{ digest: Digest; size: number }> = [];
      for (const o of await listObjects(b, dir)) {
        const digest = fromTrashName(o.key.slice(dir.length));
        if (digest) out.push({ digest, size: o.size });
      }
      return out;
    },

    async restoreFromTrash(batchId, digest) {
      const src = `${batchDir(batchId)}${trashName(digest)}`;
      if (await headInfo(b, keys.blob(digest))) await deleteObject(b, src);
      else await move(src, keys.blob(digest));
    },

    async purgeBatch(batchId) {
      let bytes = 0;
      for (const o of await listObjects(b, batchDir(batchId))) {
        bytes += o.size;
        await deleteObject(b, o.key);
      }
      return bytes;
    },

    async verify(digest, signal) {
      const body = await getStream(b, keys.blob(digest), undefined, signal);
      if (!body) return 'missing';
      const alg = digest.startsWith('sha512:') ? 'sha512' : 'sha256';
      const hash = createHash(alg);
      await pipeline(body, hash, { signal });
      return `${alg}:${hash.digest('hex')}` === digest ? 'ok' : 'corrupt';
    },

    async quarantine(target) {
      const src = typeof target === 'string' ? keys.blob(target) : target.path;
      const base = typeof target === 'string' ? trashName(target) : `stray-${randomId(6)}`;
      return move(src, `${keys.quarantineDir}${base}.${Date.now()}`);
    },
  };
}
