import { AppError } from '../core/errors.ts';
import type { Digest } from '../core/digest.ts';
import { parseManifest } from '../oci/manifest.ts';
import type { Metadata } from '../metadata/types.ts';
import type { BlobReader } from '../storage/types.ts';

/** Config digest (image ID), total size (config + layers) and layer count of a stored image manifest. */
export function imageDescriber(metadata: Metadata, blobs: BlobReader) {
  return async (repository: string, digest: Digest): Promise<{ imageId: Digest; size: number; layers: number }> => {
    const repo = await metadata.repositories.get(repository);
    const rec = repo ? await metadata.manifests.get(repo.id, digest) : null;
    if (!rec) throw new AppError('MANIFEST_UNKNOWN', `pushed manifest ${digest} not found in ${repository}`);
    const m = parseManifest(await blobs.readAll(digest, 4 * 1024 * 1024), rec.mediaType);
    const [config, ...layers] = m.blobs;
    if (!config) throw new AppError('MANIFEST_INVALID', `manifest ${digest} has no config`);
    return { imageId: config.digest, size: m.blobs.reduce((s, b) => s + b.size, 0), layers: layers.length };
  };
}
