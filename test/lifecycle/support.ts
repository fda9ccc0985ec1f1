import { createHash, randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sha256Of, type Digest } from '../../src/core/digest.ts';
import type { Metadata } from '../../src/metadata/types.ts';
import { RegistryClient } from '../../src/oci/client.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { adminClient, apiCall, basic, makeWorld, type World } from '../support/world.ts';

/** An application `shop` in account acme with services web (acme/shop.web) and api (acme/shop.api). */
export interface ShopWorld {
  s: TestServer; w: World; client: RegistryClient;
  app: { id: string; accountId: string };
  services: Record<'web' | 'api', { id: string; repository: string }>;
  stop(): Promise<void>;
}

/** A server with a short collection fence (`gcMinBlobAgeSeconds`), no schedule, and the shop world. */
export async function makeShopWorld(overrides: Record<string, unknown> = {}): Promise<ShopWorld> {
  const s = await startTestServer({ allowLocalGit: true, buildConcurrency: 0, gcIntervalMinutes: 0, gcMinBlobAgeSeconds: 1, ...overrides });
  const w = await makeWorld(s);
  const token = w.acmeOwner.token;
  const a = await apiCall(s, token, 'POST', '/accounts/acme/apps', { name: 'shop' });
  if (a.status !== 201) throw new Error(JSON.stringify(a.body));
  const services = {} as ShopWorld['services'];
  for (const name of ['web', 'api'] as const) {
    const r = await apiCall(s, token, 'POST', '/accounts/acme/apps/shop/services', { name, gitUrl: `file:///nonexistent/${name}.git` });
    if (r.status !== 201) throw new Error(JSON.stringify(r.body));
    services[name] = { id: r.body.id, repository: r.body.repository };
  }
  const account = (await s.metadata.accounts.getByNamespace('acme'))!;
  return {
    s, w, client: adminClient(s, w.adminToken), app: { id: a.body.id, accountId: account.id }, services,
    stop: () => s.stop(),
  };
}

/** What pushImage made. */
export interface Pushed { repository: string; commit: string; digest: Digest; buildId: string | null; blobs: Digest[] }

let counter = 0;
/** A fresh 40-character commit hash. */
export function newCommit(): string {
  return createHash('sha1').update(`${process.pid}-${Date.now()}-${counter++}-${Math.random()}`).digest('hex');
}

/**
 * Pushes an image (random layers, plus `shared` layers) tagged with a commit, and records a succeeded build of it
 * (so it has a branch), as the builder would. `build: false` pushes an image without a build (untracked).
 */
export async function pushImage(x: ShopWorld, service: 'web' | 'api', o: { branch?: string; layers?: number; layerSize?: number; shared?: Buffer[]; build?: boolean } = {}): Promise<Pushed> {
  const repo = x.services[service].repository;
  const commit = newCommit();
  const layers = [...(o.shared ?? []), ...Array.from({ length: o.layers ?? 2 }, () => randomBytes(o.layerSize ?? 8192))].map((bytes) => ({ digest: sha256Of(bytes), bytes }));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {}, commit }));
  const configDigest = sha256Of(config);
  for (const b of [...layers, { digest: configDigest, bytes: config }]) await x.client.uploadBlob(repo, b.digest, b.bytes.length, () => Readable.from([b.bytes]));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: MediaType.ociLayerGzip, digest: l.digest, size: l.bytes.length })),
  }));
  await x.client.putManifest(repo, commit, MediaType.ociManifest, manifest);
  const digest = sha256Of(manifest);
  let buildId: string | null = null;
  if (o.build !== false) buildId = await recordBuild(x.s.metadata, x, service, o.branch ?? 'main', commit, digest);
  return { repository: repo, commit, digest, buildId, blobs: [configDigest, ...layers.map((l) => l.digest)] };
}

/** Records a succeeded build of `commit` whose image is `digest`. */
export async function recordBuild(md: Metadata, x: ShopWorld, service: 'web' | 'api', branch: string, commit: string, digest: Digest): Promise<string> {
  const b = await md.builds.create({
    serviceId: x.services[service].id, applicationId: x.app.id, accountId: x.app.accountId, deploymentId: null, trigger: 'api',
    triggeredBy: 'test', branch, commit, repository: x.services[service].repository, force: false, rebuildOf: null,
  });
  await md.builds.update(b.id, { status: 'succeeded', imageDigest: digest, imageId: digest, imageSize: 1, layerCount: 1, startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() });
  return b.id;
}

/** Records a succeeded deployment of the given images (their builds). */
export async function recordDeployment(md: Metadata, x: ShopWorld, images: Array<{ service: 'web' | 'api'; pushed: Pushed }>): Promise<string> {
  const d = await md.deployments.create({
    applicationId: x.app.id, accountId: x.app.accountId, branch: null, trigger: 'api', triggeredBy: 'test',
    items: images.map((i) => ({ serviceId: x.services[i.service].id, serviceName: i.service, branch: 'main', buildId: i.pushed.buildId!, commit: i.pushed.commit })),
  });
  await md.deployments.finish(d.id, 'succeeded', null);
  return d.id;
}

/**
 * Pulls an image the way a client does (manifest by tag, then every blob), verifying every digest; throws on any
 * failure. `auth` is a Basic header value (BuildGrid credentials).
 */
export async function pullImage(baseUrl: string, auth: string, repository: string, ref: string): Promise<void> {
  const get = async (path: string, accept?: string) => {
    const res = await fetch(`${baseUrl}/v2/${repository}/${path}`, { headers: { authorization: auth, ...(accept ? { accept } : {}) } });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`GET ${repository}/${path}: HTTP ${res.status} ${body.toString().slice(0, 200)}`);
    return body;
  };
  const manifest = await get(`manifests/${ref}`, `${MediaType.ociManifest}, ${MediaType.dockerManifest}`);
  const m = JSON.parse(manifest.toString()) as { config: { digest: Digest }; layers: Array<{ digest: Digest }> };
  for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
    const bytes = await get(`blobs/${d}`);
    if (sha256Of(bytes) !== d) throw new Error(`blob ${d} of ${repository}:${ref} has the wrong content`);
  }
}

/** Basic auth of a person's BuildGrid credentials. */
export const credsOf = (p: { registry: { username: string; password: string } }) => basic(p.registry.username, p.registry.password);

/** Bytes (and files) under the blob tree of a data directory. */
export async function storeBytes(dataDir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else { bytes += (await stat(p)).size; files++; }
    }
  };
  await walk(join(dataDir, 'storage', 'blobs'));
  return { bytes, files };
}

/** Starts a GC run through the API and waits for it; resolves to the finished run with its report. */
export async function gcNow(x: Pick<ShopWorld, 's' | 'w'>, body: { dryRun?: boolean; retention?: boolean } = {}): Promise<any> {
  const r = await apiCall(x.s, x.w.adminToken, 'POST', '/admin/gc', { dryRun: false, retention: true, ...body, wait: true });
  if (r.status !== 200) throw new Error(`gc: ${r.status} ${JSON.stringify(r.body)}`);
  if (r.body.status !== 'succeeded') throw new Error(`gc run ${r.body.status}: ${r.body.error}`);
  return r.body;
}

/** Runs fsck through the API; resolves to its report. */
export async function fsckNow(x: Pick<ShopWorld, 's' | 'w'>, repair = false): Promise<any> {
  const r = await apiCall(x.s, x.w.adminToken, 'POST', '/admin/fsck', { repair, wait: true });
  if (r.status !== 200 || r.body.status !== 'succeeded') throw new Error(`fsck: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
  return r.body.report.fsck;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
