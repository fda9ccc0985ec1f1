import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAppError } from '../core/errors.ts';
import { exists, invalid, type ImageSource, type ReadImageOptions } from './layout-common.ts';
import { readOciLayout } from './layout-oci.ts';
import { readDockerArchive } from './layout-docker.ts';
import { extractTar } from './tar-extract.ts';

export type { ImageSource, ReadImageOptions, SourceBlob, SourceManifest } from './layout-common.ts';
export { readOciLayout } from './layout-oci.ts';

/**
 * Reads an image to import from `path`, which may be
 *  - an OCI image layout directory (oci-layout, index.json, blobs/): used as is, digests preserved;
 *  - a `docker save` tar (optionally gzip-compressed), or such a tar unpacked into a directory. Newer Docker versions
 *    put an OCI layout inside the tar; it is preferred when present (digests preserved). Otherwise the legacy
 *    manifest.json is converted to an OCI image manifest with gzip-compressed layers (new digests).
 * Archives are unpacked into a temporary directory that `close()` removes; call it when done with the blobs.
 * Throws AppError INVALID ("not an OCI layout or docker-archive: …") for anything unreadable or malformed.
 */
export async function readImageSource(path: string, opts: ReadImageOptions = {}): Promise<ImageSource> {
  const st = await stat(path).catch(() => null);
  if (!st) throw invalid(`not an OCI layout or docker-archive: ${path} does not exist`);

  if (st.isDirectory()) {
    if (await exists(join(path, 'oci-layout'))) {
      return { ...(await readOciLayout(path, opts)), close: async () => {} };
    }
    if (await exists(join(path, 'manifest.json'))) {
      return withWorkDir(opts, (work) => readDockerArchive(path, { ...opts, workDir: join(work, 'layers') }));
    }
    throw invalid(`not an OCI layout or docker-archive: directory ${path} has neither an oci-layout file nor a manifest.json`);
  }
  if (!st.isFile()) throw invalid(`not an OCI layout or docker-archive: ${path} is neither a directory nor a file`);

  return withWorkDir(opts, async (work) => {
    const root = join(work, 'archive');
    try {
      await extractTar(path, root, opts.signal);
    } catch (err) {
      if (isAppError(err) || (err as Error).name === 'AbortError') throw err;
      throw invalid(`not an OCI layout or docker-archive: ${path} is not a readable tar archive (${(err as Error).message})`);
    }
    if ((await exists(join(root, 'oci-layout'))) && (await exists(join(root, 'index.json')))) {
      return readOciLayout(root, opts);
    }
    if (await exists(join(root, 'manifest.json'))) {
      return readDockerArchive(root, { ...opts, workDir: join(work, 'layers') });
    }
    throw invalid(`not an OCI layout or docker-archive: ${path} holds neither oci-layout + index.json nor manifest.json`);
  });
}

/** Runs `fn` with a fresh temporary directory that the result's close() removes (or that is removed at once on failure). */
async function withWorkDir(
  opts: ReadImageOptions,
  fn: (work: string) => Promise<Omit<ImageSource, 'close'>>,
): Promise<ImageSource> {
  const work = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'buildgrid-import-'));
  const close = () => rm(work, { recursive: true, force: true });
  try {
    return { ...(await fn(work)), close };
  } catch (err) {
    await close();
    throw err;
  }
}
