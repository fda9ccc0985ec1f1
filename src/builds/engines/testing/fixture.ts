// Shared set-up of the real-engine tests: a BuildGrid test server with a `library/busybox:1` base image (a local
// busybox made by the harness, copied in with skopeo), the administrator's registry credentials, and helpers to read
// back what an engine pushed (manifest, config, files inside the layers).

import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { makeBusyboxImage } from '../../../../test/harness/busybox.ts';
import { pidsMatching, removeTree, run, tempDir } from '../../../../test/harness/tools.ts';
import { ADMIN, startTestServer, type TestServer } from '../../../../test/support/server.ts';
import { apiCall, basic, login } from '../../../../test/support/world.ts';
import type { EngineRequest } from '../../types.ts';

export interface EngineWorld {
  s: TestServer;
  /** host:port of the registry. */
  host: string;
  /** Registry credentials that may pull and push anything (admin + API token). */
  creds: { username: string; password: string };
  /** Temp dir owned by the world (removed by cleanup). */
  root: string;
  /** `<host>/library/busybox:1`, for FROM lines. */
  base: string;
  /** Writes files into a fresh context dir under root and returns it. */
  context(name: string, files: Record<string, string>): Promise<string>;
  /** A complete EngineRequest for `contextDir` (Dockerfile at its root) pushing to `repo:tag`. */
  request(contextDir: string, o: { repo: string; tag: string; cacheKey: string; buildArgs?: Record<string, string>; labels?: Record<string, string>; signal?: AbortSignal }): EngineRequest & { lines: string[]; phases: string[] };
  /** GET a manifest as the admin: its bytes, media type and the Docker-Content-Digest header. */
  manifest(repo: string, ref: string): Promise<{ status: number; digest: string | null; computed: string; mediaType: string; json: any }>;
  /** The image config JSON of repo:ref. */
  config(repo: string, ref: string): Promise<any>;
  /** Content of a regular file in the image's filesystem (later layers win), or null. */
  fileInImage(repo: string, ref: string, path: string): Promise<string | null>;
  cleanup(): Promise<void>;
}

const ACCEPT = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Starts the server and imports the busybox base image. Always call cleanup(). */
export async function startEngineWorld(prefix: string): Promise<EngineWorld> {
  const tmp = await tempDir(prefix);
  let s: TestServer | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaned ??= (async () => {
      await s?.stop().catch((e) => console.error('server stop failed:', e));
      await removeTree(tmp.path);
    })();
    return cleaned;
  };
  try {
    s = await startTestServer();
    const server = s;
    const token = await login(server, ADMIN.email, ADMIN.password);
    const creds = { username: 'admin', password: token };
    const acc = await apiCall(server, token, 'POST', '/accounts', { name: 'library' });
    if (acc.status !== 201) throw new Error(`create account library: ${acc.status} ${JSON.stringify(acc.body)}`);
    for (const name of ['acme']) {
      const r = await apiCall(server, token, 'POST', '/accounts', { name });
      if (r.status !== 201) throw new Error(`create account ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const img = await makeBusyboxImage(join(tmp.path, 'busybox'));
    const home = join(tmp.path, 'skopeo-home');
    await mkdir(home, { recursive: true });
    const base = `${server.host}/library/busybox:1`;
    const cp = await run(
      'skopeo',
      ['--insecure-policy', 'copy', '--dest-tls-verify=false', '--dest-creds', `${creds.username}:${creds.password}`, `oci:${img.layoutDir}`, `docker://${base}`],
      { env: { HOME: home, REGISTRY_AUTH_FILE: join(home, 'auth.json'), TMPDIR: home }, timeoutMs: 120_000 },
    );
    if (cp.code !== 0) throw new Error(`skopeo copy failed: ${cp.stderr}`);

    const auth = basic(creds.username, creds.password);
    const get = (path: string, accept?: string): Promise<Response> =>
      fetch(`${server.url}/v2/${path}`, { headers: { authorization: auth, ...(accept ? { accept } : {}) } });
    const manifest: EngineWorld['manifest'] = async (repo, ref) => {
      const res = await get(`${repo}/manifests/${ref}`, ACCEPT);
      const body = Buffer.from(await res.arrayBuffer());
      return {
        status: res.status,
        digest: res.headers.get('docker-content-digest'),
        computed: `sha256:${createHash('sha256').update(body).digest('hex')}`,
        mediaType: res.headers.get('content-type') ?? '',
        json: res.status === 200 ? JSON.parse(body.toString('utf8')) : null,
      };
    };
    const blob = async (repo: string, digest: string): Promise<Buffer> => {
      const res = await get(`${repo}/blobs/${digest}`);
      if (res.status !== 200) throw new Error(`GET blob ${digest}: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    };
    let ctxN = 0;
    return {
      s: server,
      host: server.host,
      creds,
      root: tmp.path,
      base,
      async context(name, files) {
        const dir = join(tmp.path, 'ctx', `${name}-${++ctxN}`);
        for (const [p, content] of Object.entries(files)) {
          const file = join(dir, p);
          await mkdir(join(file, '..'), { recursive: true });
          await writeFile(file, content);
        }
        return dir;
      },
      request(contextDir, o) {
        const lines: string[] = [];
        const phases: string[] = [];
        return {
          buildId: `b-${o.tag}`,
          contextDir,
          dockerfile: join(contextDir, 'Dockerfile'),
          buildArgs: o.buildArgs ?? {},
          labels: o.labels ?? {},
          target: { registry: server.host, repository: o.repo, tag: o.tag, insecure: true },
          credentials: creds,
          cacheKey: o.cacheKey,
          signal: o.signal ?? new AbortController().signal,
          log: (l) => lines.push(l),
          onPhase: (p) => phases.push(p),
          lines,
          phases,
        };
      },
      manifest,
      async config(repo, ref) {
        const m = await manifest(repo, ref);
        if (m.status !== 200) throw new Error(`manifest ${repo}:${ref}: ${m.status}`);
        return JSON.parse((await blob(repo, m.json.config.digest)).toString('utf8'));
      },
      async fileInImage(repo, ref, path) {
        const m = await manifest(repo, ref);
        if (m.status !== 200) throw new Error(`manifest ${repo}:${ref}: ${m.status}`);
        const want = path.replace(/^\/+/, '');
        let found: string | null = null;
        for (const l of m.json.layers as Array<{ digest: string }>) {
          const raw = await blob(repo, l.digest);
          const data = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
          const hit = await readTarEntry(data, want);
          if (hit !== undefined) found = hit;
        }
        return found;
      },
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** The content of `name` in a tar (undefined when absent; null when it is whited out). */
async function readTarEntry(data: Buffer, name: string): Promise<string | null | undefined> {
  const ex = tar.extract();
  let result: string | null | undefined;
  const slash = name.lastIndexOf('/');
  const whiteout = `${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`;
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const n = h.name.replace(/^\.?\//, '');
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => { chunks.push(c as Buffer); });
      stream.on('end', () => {
        if (n === name && h.type === 'file') result = Buffer.concat(chunks).toString('utf8');
        if (n === whiteout) result = null;
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(data);
  await done;
  return result;
}

/** Pids of live processes whose command line mentions `needle` (e.g. the engine's work dir). */
export function processesMentioning(needle: string): number[] {
  return pidsMatching(needle);
}

/** Prints durations so a test run shows the cache effect. */
export function report(label: string, ms: number): void {
  console.log(`# ${label}: ${(ms / 1000).toFixed(2)} s`);
}
