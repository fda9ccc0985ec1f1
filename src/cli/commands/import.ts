import type { Command } from 'commander';
import { parseRepositoryName, isTag } from '../../core/reference.ts';
import { readImageSource, type ImageSource } from '../../oci/layout.ts';
import { RegistryClient } from '../../oci/client.ts';
import { currentLogin } from '../client.ts';
import { CliError, emit, progressBar } from '../output.ts';
import { action } from '../run.ts';

/** Splits `ns/repo:tag`. Throws CliError on a malformed target. */
export function parseTarget(target: string): { repository: string; tag: string } {
  const i = target.lastIndexOf(':');
  if (i <= 0 || target.indexOf('/', i) >= 0) throw new CliError(`invalid target "${target}"`, 'use NAMESPACE/REPO:TAG, e.g. library/busybox:1.36');
  const repository = target.slice(0, i);
  const tag = target.slice(i + 1);
  try {
    parseRepositoryName(repository);
  } catch (err) {
    throw new CliError((err as Error).message, 'use NAMESPACE/REPO:TAG with lowercase names');
  }
  if (!isTag(tag)) throw new CliError(`invalid tag "${tag}"`, 'tags are up to 128 of [A-Za-z0-9_.-]');
  return { repository, tag };
}

/** `buildgrid import SRC NS/REPO:TAG`: loads an OCI layout directory or docker-archive tar through the registry protocol (administrators). */
export function registerImportCommand(program: Command): void {
  program
    .command('import <source> <target>')
    .description('administrators: import a base image from an OCI layout directory or a `docker save` tar as NAMESPACE/REPO:TAG')
    .option('--json', 'machine-readable output')
    .action(action(async (source: string, target: string, opts: { json?: boolean }) => {
      const { repository, tag } = parseTarget(target);
      const login = currentLogin();
      let image: ImageSource;
      try {
        image = await readImageSource(source);
      } catch (err) {
        throw new CliError((err as Error).message, 'pass a directory made by `skopeo copy … oci:DIR`/umoci, or a tar made by `docker save`');
      }
      try {
        await push();
      } catch (err) {
        const msg = (err as Error).message;
        if (/DENIED/.test(msg)) throw new CliError(msg, 'only administrators can import base images; everyone else gets images by building from git');
        if (/UNAUTHORIZED/.test(msg)) throw new CliError(msg, 'log in again with `buildgrid login`');
        throw err;
      } finally {
        await image.close?.();
      }
      async function push(): Promise<void> {
        const client = new RegistryClient({ baseUrl: login.server, username: 'buildgrid', password: login.token });
        const total = image.blobs.reduce((s, b) => s + b.size, 0);
        const bar = opts.json ? null : progressBar(`Importing ${repository}:${tag}`, total);
        for (const b of image.blobs) {
          await client.uploadBlob(repository, b.digest, b.size, b.open, (n) => bar?.add(n));
        }
        for (const m of image.manifests) {
          const isTop = m.digest === image.topDigest;
          await client.putManifest(repository, isTop ? tag : m.digest, m.mediaType, m.bytes);
        }
        bar?.done();
        const host = new URL(login.server).host;
        emit(opts, { repository, tag, digest: image.topDigest, bytes: total, image: `${host}/${repository}:${tag}` }, () => {
          console.log(`Imported ${host}/${repository}:${tag}\nDigest: ${image.topDigest}`);
        });
      }
    }));
}
