// Builds the harness busybox image (OCI layout + docker-archive) into a directory, for manual testing and benchmarks.
// Usage: node --import tsx scripts/make-busybox-image.ts OUT_DIR [--tag T] [--layers N] [--layer-size BYTES]
//          [--seed S] [--docker-media-types] [--file PATH=CONTENT]...
// Prints a JSON summary (layout dir, archive, digests, sizes). Then e.g.:
//   skopeo copy --dest-tls-verify=false oci:OUT_DIR/oci docker://127.0.0.1:PORT/library/busybox:1

import { parseArgs } from 'node:util';
import { makeBusyboxImage } from '../test/harness/busybox.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tag: { type: 'string' },
    layers: { type: 'string' },
    'layer-size': { type: 'string' },
    seed: { type: 'string' },
    'docker-media-types': { type: 'boolean' },
    file: { type: 'string', multiple: true },
  },
});
const out = positionals[0];
if (!out) {
  console.error('usage: make-busybox-image.ts OUT_DIR [--tag T] [--layers N] [--layer-size BYTES] [--seed S] [--docker-media-types] [--file PATH=CONTENT]...');
  process.exit(2);
}
const extraFiles: Record<string, string> = {};
for (const f of values.file ?? []) {
  const i = f.indexOf('=');
  if (i <= 0) throw new Error(`--file expects PATH=CONTENT, got ${f}`);
  extraFiles[f.slice(0, i)] = f.slice(i + 1);
}
const started = Date.now();
const img = await makeBusyboxImage(out, {
  tag: values.tag,
  layers: values.layers ? Number(values.layers) : undefined,
  layerSizeBytes: values['layer-size'] ? Number(values['layer-size']) : undefined,
  seed: values.seed,
  mediaTypes: values['docker-media-types'] ? 'docker' : 'oci',
  extraFiles: Object.keys(extraFiles).length ? extraFiles : undefined,
});
console.log(
  JSON.stringify(
    {
      layoutDir: img.layoutDir,
      dockerArchive: img.dockerArchive,
      tag: img.tag,
      manifestDigest: img.manifestDigest,
      configDigest: img.configDigest,
      layers: img.layers.map((l) => ({ role: l.role, digest: l.digest, size: l.size, diffId: l.diffId })),
      totalBlobBytes: img.totalBlobBytes,
      ms: Date.now() - started,
    },
    null,
    2,
  ),
);
