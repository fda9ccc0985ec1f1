import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Metadata } from '../metadata/types.ts';
import type { BlobWriter } from '../storage/types.ts';
import { UpstreamClient } from '../oci/upstream.ts';
import { createMirrorFetcher, type MirrorFetcher } from '../registry/mirror/fetcher.ts';

/** The pull-through cache from the configuration: one upstream client per enabled entry of `upstreams`. */
export function createMirror(o: { config: Config; metadata: Metadata; blobs: BlobWriter; log: Logger }): MirrorFetcher {
  const upstreams = new Map<string, UpstreamClient>();
  for (const [name, u] of Object.entries(o.config.upstreams)) {
    upstreams.set(name, new UpstreamClient({ name, ...u, maxManifestBytes: o.config.maxManifestBytes }));
  }
  const log = o.log.child({ part: 'mirror' });
  return createMirrorFetcher({
    metadata: o.metadata, blobs: o.blobs, upstreams, tagTtlSeconds: o.config.upstreamTagTtlSeconds,
    onNotice: (n) => (n.kind === 'stale' ? log.warn({ name: n.name, ref: n.ref }, n.message) : log.info({ name: n.name, ref: n.ref }, n.message)),
  });
}
