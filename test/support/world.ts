import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { sha256Of, type Digest } from '../../src/core/digest.ts';
import { RegistryClient } from '../../src/oci/client.ts';
import { readImageSource } from '../../src/oci/layout.ts';
import { MediaType } from '../../src/oci/mediatypes.ts';
import { ADMIN, type TestServer } from './server.ts';

/** Calls /api/v1 with a bearer token; throws with the body on non-2xx unless `allowError`. */
export async function apiCall<T = any>(s: TestServer, token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${s.url}/api/v1${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Logs in and returns the API token. */
export async function login(s: TestServer, email: string, password: string): Promise<string> {
  const r = await apiCall<{ token: string }>(s, null, 'POST', '/auth/login', { email, password });
  if (r.status !== 200) throw new Error(`login ${email} failed: ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** A person in the test world, with dashboard token and registry credentials. */
export interface Person { email: string; password: string; token: string; registry: { username: string; password: string } }

/** Two accounts (acme, globex), an owner and a viewer in acme, a developer in globex, and the admin. */
export interface World { adminToken: string; acmeOwner: Person; acmeViewer: Person; globexDev: Person }

async function person(s: TestServer, adminToken: string, email: string, account: string, role: string): Promise<Person> {
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const r = await apiCall(s, adminToken, 'POST', '/users', { email, password, account, role });
  if (r.status !== 201) throw new Error(`create user failed: ${JSON.stringify(r.body)}`);
  const token = await login(s, email, password);
  const c = await apiCall<{ username: string; password: string }>(s, token, 'GET', '/credentials');
  return { email, password, token, registry: { username: c.body.username, password: c.body.password } };
}

/** Builds the standard test world on a fresh server. */
export async function makeWorld(s: TestServer): Promise<World> {
  const adminToken = await login(s, ADMIN.email, ADMIN.password);
  for (const name of ['acme', 'globex']) {
    const r = await apiCall(s, adminToken, 'POST', '/accounts', { name });
    if (r.status !== 201) throw new Error(`create account failed: ${JSON.stringify(r.body)}`);
  }
  return {
    adminToken,
    acmeOwner: await person(s, adminToken, 'owner@acme.test', 'acme', 'owner'),
    acmeViewer: await person(s, adminToken, 'viewer@acme.test', 'acme', 'viewer'),
    globexDev: await person(s, adminToken, 'dev@globex.test', 'globex', 'developer'),
  };
}

/** A registry client acting as the administrator (API token as password). */
export function adminClient(s: TestServer, adminToken: string): RegistryClient {
  return new RegistryClient({ baseUrl: s.url, username: 'admin', password: adminToken });
}

/**
 * Imports the image at `source` (anything readImageSource takes) into `repository:tag` of the BuildGrid at `baseUrl`
 * as an administrator (API token as password), through the registry protocol. Rejects on the first refused blob or
 * manifest.
 */
export async function importImage(baseUrl: string, adminToken: string, source: string, repository: string, tag: string): Promise<void> {
  const src = await readImageSource(source);
  try {
    const c = new RegistryClient({ baseUrl, username: 'admin', password: adminToken });
    for (const b of src.blobs) await c.uploadBlob(repository, b.digest, b.size, b.open);
    for (const m of src.manifests) await c.putManifest(repository, m.digest === src.topDigest ? tag : m.digest, m.mediaType, m.bytes);
  } finally {
    await src.close?.();
  }
}

/** What pushRandomImage pushed. */
export interface PushedImage { manifestDigest: Digest; manifest: Buffer; config: Buffer; configDigest: Digest; layers: Array<{ digest: Digest; bytes: Buffer }> }

/** Pushes a small image of random layers (not runnable) as repo:tag through the registry protocol. */
export async function pushRandomImage(client: RegistryClient, repo: string, tag: string, opts: { layers?: number; layerSize?: number; mediaType?: string } = {}): Promise<PushedImage> {
  const layers = Array.from({ length: opts.layers ?? 2 }, () => {
    const bytes = randomBytes(opts.layerSize ?? 4096);
    return { digest: sha256Of(bytes), bytes };
  });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {} }));
  const configDigest = sha256Of(config);
  for (const b of [...layers, { digest: configDigest, bytes: config }]) {
    await client.uploadBlob(repo, b.digest, b.bytes.length, () => Readable.from([b.bytes]));
  }
  const mediaType = opts.mediaType ?? MediaType.ociManifest;
  const docker = mediaType === MediaType.dockerManifest;
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: { mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig, digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip, digest: l.digest, size: l.bytes.length })),
  }));
  await client.putManifest(repo, tag, mediaType, manifest);
  return { manifestDigest: sha256Of(manifest), manifest, config, configDigest, layers };
}

/** Basic auth header value. */
export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}
