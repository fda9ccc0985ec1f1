import { Readable } from 'node:stream';
import { AppError } from '../core/errors.ts';
import type { Digest } from '../core/digest.ts';

/**
 * A small OCI distribution client for pushing (admin import, and the builder's push): Basic credentials, with the
 * Docker token flow when the registry challenges with Bearer. One instance talks to one registry.
 */
export interface RegistryClientOptions {
  /** e.g. http://127.0.0.1:5000 */
  baseUrl: string;
  username: string;
  password: string;
  signal?: AbortSignal;
}

interface Challenge { scheme: string; params: Record<string, string> }

function parseChallenge(h: string | null): Challenge | null {
  if (!h) return null;
  const m = /^(\w+)\s*(.*)$/.exec(h.trim());
  if (!m) return null;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!] = p[2]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

/** Error text from an OCI error body, or the status line. */
async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { errors?: Array<{ code: string; message: string }> };
    if (j.errors?.length) return j.errors.map((e) => `${e.code}: ${e.message}`).join('; ');
  } catch { /* not JSON */ }
  return `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
}

/** Pushes blobs and manifests through the registry protocol. Methods throw AppError with the registry's message. */
export class RegistryClient {
  private readonly basic: string;
  private readonly tokens = new Map<string, string>();
  constructor(private readonly opts: RegistryClientOptions) {
    this.basic = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  }

  private async auth(scope: string): Promise<string> {
    return this.tokens.get(scope) ?? this.basic;
  }

  /** Sends a request, answering one Bearer challenge with a token for `scope`. `body` factories allow a retry. */
  async request(method: string, path: string, scope: string, init: { headers?: Record<string, string>; body?: () => BodyInit | undefined; duplex?: boolean } = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.opts.baseUrl}${path}`;
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(url, {
        method,
        headers: { ...init.headers, Authorization: await this.auth(scope) },
        body: init.body?.(),
        redirect: 'follow',
        signal: this.opts.signal,
        ...(init.duplex ? { duplex: 'half' } : {}),
      } as RequestInit);
      if (res.status !== 401 || attempt > 0) return res;
      const ch = parseChallenge(res.headers.get('www-authenticate'));
      await res.body?.cancel();
      if (!ch || ch.scheme !== 'bearer' || !ch.params.realm) return res;
      await this.fetchToken(ch, scope);
    }
  }

  private async fetchToken(ch: Challenge, scope: string): Promise<void> {
    const u = new URL(ch.params.realm!);
    if (ch.params.service) u.searchParams.set('service', ch.params.service);
    u.searchParams.set('scope', scope);
    const res = await fetch(u, { headers: { Authorization: this.basic }, signal: this.opts.signal });
    if (!res.ok) throw new AppError('UNAUTHORIZED', `registry token request failed: ${await errorText(res)}`);
    const j = (await res.json()) as { token?: string; access_token?: string };
    this.tokens.set(scope, `Bearer ${j.token ?? j.access_token}`);
  }

  /** True when the repository already has the blob. */
  async hasBlob(repo: string, digest: Digest): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, `repository:${repo}:pull,push`);
    await res.body?.cancel();
    return res.ok;
  }

  /**
   * Uploads a blob (skipped when present): POST for a session, then one streaming PUT with the digest.
   * `onBytes` reports progress.
   */
  async uploadBlob(repo: string, digest: Digest, size: number, open: () => Readable, onBytes?: (n: number) => void): Promise<void> {
    const scope = `repository:${repo}:pull,push`;
    if (await this.hasBlob(repo, digest)) {
      onBytes?.(size);
      return;
    }
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`, scope, { headers: { 'Content-Length': '0' } });
    if (start.status !== 202) throw new AppError('BLOB_UPLOAD_INVALID', `cannot start upload to ${repo}: ${await errorText(start)}`);
    await start.body?.cancel();
    const loc = new URL(start.headers.get('location') ?? '', this.opts.baseUrl);
    loc.searchParams.set('digest', digest);
    const body = () => {
      const src = open();
      if (onBytes) src.on('data', (c: Buffer) => onBytes(c.length));
      return Readable.toWeb(src) as unknown as BodyInit;
    };
    const put = await this.request('PUT', loc.toString(), scope, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body,
      duplex: true,
    });
    if (put.status !== 201) throw new AppError('BLOB_UPLOAD_INVALID', `upload of ${digest} to ${repo} failed: ${await errorText(put)}`);
    await put.body?.cancel();
  }

  /** PUTs a manifest under a tag or digest; resolves to the digest the registry reports. */
  async putManifest(repo: string, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, `repository:${repo}:pull,push`, {
      headers: { 'Content-Type': mediaType },
      body: () => new Uint8Array(bytes),
    });
    if (res.status !== 201) throw new AppError('MANIFEST_INVALID', `manifest push to ${repo}:${reference} failed: ${await errorText(res)}`);
    await res.body?.cancel();
    return res.headers.get('docker-content-digest') ?? '';
  }
}
