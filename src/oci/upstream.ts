// A read-only client for one upstream registry (Docker Hub, ghcr.io, an internal mirror): manifests and blobs by
// GET/HEAD, anonymously or with Basic credentials, answering Docker's token challenge
// (WWW-Authenticate: Bearer realm=…,service=…,scope=… → GET realm?service&scope → retry with the token). Everything it
// returns is verified: a manifest's bytes against the digest asked for (or the one the upstream names), a blob while it
// streams. Sizes are capped. Nothing here knows about BuildGrid's store; registry/mirror/ does.

import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../core/errors.ts';
import { digestOfLike, isDigest, sha256Of, type Digest } from '../core/digest.ts';
import { MANIFEST_MEDIA_TYPES } from './mediatypes.ts';
import { DigestVerifier } from './verify.ts';
import { discard, readBody, upstreamExchange, type UpstreamAnswer } from './upstream-http.ts';

/** One configured upstream. */
export interface UpstreamOptions {
  /** The registry name it stands for (docker.io), used in messages. */
  name: string;
  /** Base URL, e.g. https://registry-1.docker.io (no path). */
  url: string;
  username?: string;
  password?: string;
  /** Skip TLS certificate verification. */
  insecure?: boolean;
  /** ms until an answer's headers, and the longest pause in a body. Default 30 000. */
  timeoutMs?: number;
  /** Largest manifest accepted, bytes. Default 4 MiB. */
  maxManifestBytes?: number;
  /** Largest blob accepted, bytes. Default 16 GiB. */
  maxBlobBytes?: number;
}

/** A manifest as the upstream served it, verified. */
export interface UpstreamManifest { digest: Digest; mediaType: string; bytes: Buffer }

const ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');
const TOKEN_MAX_BYTES = 64 * 1024;

/** Reads manifests and blobs from one upstream registry. Methods throw AppError with messages naming the upstream. */
export class UpstreamClient {
  readonly name: string;
  readonly #o: Required<Omit<UpstreamOptions, 'username' | 'password'>> & { basic: string | null };
  /** Bearer tokens by scope (expiry in ms since epoch). */
  readonly #tokens = new Map<string, { header: string; until: number }>();

  constructor(o: UpstreamOptions) {
    this.name = o.name;
    const url = new URL(o.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new AppError('INVALID', `upstream ${o.name}: url must be http(s)://host[:port], not ${o.url}`);
    this.#o = {
      name: o.name,
      url: url.origin,
      insecure: o.insecure ?? false,
      timeoutMs: o.timeoutMs ?? 30_000,
      maxManifestBytes: o.maxManifestBytes ?? 4 * 1024 * 1024,
      maxBlobBytes: o.maxBlobBytes ?? 16 * 1024 ** 3,
      basic: o.username !== undefined ? `Basic ${Buffer.from(`${o.username}:${o.password ?? ''}`).toString('base64')}` : null,
    };
  }

  /**
   * The digest, media type and size a manifest reference has upstream now, or null when the upstream does not know
   * it (404). Throws when the upstream is unreachable or refuses (401/403/429/5xx).
   */
  async headManifest(repo: string, ref: string, signal?: AbortSignal): Promise<{ digest: Digest; mediaType: string; size: number } | null> {
    const a = await this.#send('HEAD', repo, `manifests/${ref}`, { Accept: ACCEPT }, signal);
    discard(a);
    if (a.status === 404) return null;
    this.#expectOk(a, `manifest ${repo}:${ref}`);
    const digest = String(a.headers['docker-content-digest'] ?? '');
    if (!isDigest(digest)) {
      // Without the header only a GET can tell: registries must send it, but some proxies strip it.
      const m = await this.getManifest(repo, ref, signal);
      return m && { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
    }
    return { digest, mediaType: String(a.headers['content-type'] ?? '').split(';')[0]!.trim(), size: Number(a.headers['content-length'] ?? 0) };
  }

  /**
   * A manifest by tag or digest, or null when the upstream does not know it (404). Verified: by digest, the bytes must
   * hash to it; by tag, to the Docker-Content-Digest the upstream sent, if any. Throws DIGEST_INVALID, SIZE_INVALID,
   * MANIFEST_INVALID (a media type that is not a manifest), or when the upstream is unreachable or refuses.
   */
  async getManifest(repo: string, ref: string, signal?: AbortSignal): Promise<UpstreamManifest | null> {
    const a = await this.#send('GET', repo, `manifests/${ref}`, { Accept: ACCEPT }, signal);
    if (a.status === 404) return discard(a), null;
    this.#expectOk(a, `manifest ${repo}:${ref}`);
    const bytes = await readBody(a, this.#o.maxManifestBytes, `manifest ${repo}:${ref} from ${this.name}`);
    const claimed = isDigest(ref) ? ref : String(a.headers['docker-content-digest'] ?? '');
    const digest = isDigest(claimed) ? claimed : sha256Of(bytes);
    if (digestOfLike(digest, bytes) !== digest) {
      throw new AppError('DIGEST_INVALID', `upstream ${this.name} sent manifest bytes for ${repo}:${ref} that do not match ${digest}; nothing was stored`);
    }
    const mediaType = manifestType(bytes, String(a.headers['content-type'] ?? ''));
    if (!MANIFEST_MEDIA_TYPES.includes(mediaType)) {
      throw new AppError('MANIFEST_INVALID', `upstream ${this.name} answered ${repo}:${ref} with "${mediaType}", not an image manifest or index (schema 1 images are not supported)`);
    }
    return { digest, mediaType, bytes };
  }

  /** True when the upstream has the blob in `repo` (HEAD 200). Throws when it is unreachable or refuses. */
  async hasBlob(repo: string, digest: Digest, signal?: AbortSignal): Promise<boolean> {
    const a = await this.#send('HEAD', repo, `blobs/${digest}`, {}, signal);
    discard(a);
    if (a.status === 404) return false;
    this.#expectOk(a, `blob ${digest} of ${repo}`);
    return true;
  }

  /**
   * A blob's bytes as a stream that fails (before passing the bytes on) when they exceed `size` (if given) or the
   * blob limit, and at its end when they do not hash to `digest`. Throws BLOB_UNKNOWN on 404.
   */
  async openBlob(repo: string, digest: Digest, size?: number, signal?: AbortSignal): Promise<Readable> {
    const a = await this.#send('GET', repo, `blobs/${digest}`, {}, signal);
    if (a.status === 404) {
      discard(a);
      throw new AppError('BLOB_UNKNOWN', `upstream ${this.name} does not have blob ${digest} of ${repo}`, { digest });
    }
    this.#expectOk(a, `blob ${digest} of ${repo}`);
    const verifier = new DigestVerifier({ expectedDigest: digest, maxBytes: this.#o.maxBlobBytes, ...(size !== undefined ? { expectedSize: size } : {}) });
    // The reader sees every failure through `verifier`; this only keeps a failure from going unhandled here.
    pipeline(a.body, verifier).catch(() => undefined);
    return verifier;
  }

  async #send(method: 'GET' | 'HEAD', repo: string, rest: string, headers: Record<string, string>, signal?: AbortSignal): Promise<UpstreamAnswer> {
    const scope = `repository:${repo}:pull`;
    const url = new URL(`/v2/${repo}/${rest}`, this.#o.url);
    for (let attempt = 0; ; attempt++) {
      const auth = this.#authFor(scope);
      const a = await upstreamExchange({
        method, url, headers: { ...headers, ...(auth ? { Authorization: auth } : {}) },
        insecure: this.#o.insecure, timeoutMs: this.#o.timeoutMs, signal, what: this.name,
      });
      if (a.status !== 401 || attempt > 0) return a;
      const ch = parseChallenge(String(a.headers['www-authenticate'] ?? ''));
      if (ch?.scheme !== 'bearer' || !ch.params.realm) return a;
      discard(a);
      await this.#fetchToken(ch.params, scope, signal);
    }
  }

  #authFor(scope: string): string | null {
    const t = this.#tokens.get(scope);
    if (t && t.until > Date.now()) return t.header;
    return this.#o.basic;
  }

  async #fetchToken(p: Record<string, string>, scope: string, signal?: AbortSignal): Promise<void> {
    let realm: URL;
    try {
      realm = new URL(p.realm!);
    } catch {
      throw new AppError('UNAUTHORIZED', `upstream ${this.name} sent an unusable token realm; check upstreams.${this.name}.url`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new AppError('UNAUTHORIZED', `upstream ${this.name} sent a token realm that is not http(s)`);
    if (p.service) realm.searchParams.set('service', p.service);
    realm.searchParams.set('scope', scope);
    const a = await upstreamExchange({
      method: 'GET', url: realm, headers: this.#o.basic ? { Authorization: this.#o.basic } : {},
      insecure: this.#o.insecure, timeoutMs: this.#o.timeoutMs, signal, what: this.name,
    });
    if (a.status !== 200) {
      discard(a);
      throw new AppError('UNAUTHORIZED', `upstream ${this.name} refused a pull token for ${scope} (HTTP ${a.status})${this.#o.basic ? ': check upstreams.' + this.name + '.username/password' : ': it may need credentials (upstreams.' + this.name + '.username/password)'}`);
    }
    let j: { token?: string; access_token?: string; expires_in?: number };
    try {
      j = JSON.parse((await readBody(a, TOKEN_MAX_BYTES, `token from ${this.name}`)).toString('utf8')) as typeof j;
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('UNAUTHORIZED', `upstream ${this.name}'s token endpoint did not answer JSON`);
    }
    const token = j.token ?? j.access_token;
    if (typeof token !== 'string' || !token) throw new AppError('UNAUTHORIZED', `upstream ${this.name}'s token endpoint answered without a token`);
    // Docker's default token lifetime is 60 s when expires_in is absent; renew a little early.
    const seconds = typeof j.expires_in === 'number' && j.expires_in > 0 ? j.expires_in : 60;
    this.#tokens.set(scope, { header: `Bearer ${token}`, until: Date.now() + Math.max(0, seconds - 10) * 1000 });
  }

  #expectOk(a: UpstreamAnswer, what: string): void {
    if (a.status >= 200 && a.status < 300) return;
    discard(a);
    if (a.status === 401 || a.status === 403) {
      throw new AppError('DENIED', `upstream ${this.name} refused ${what} (HTTP ${a.status}): the image may be private, or upstreams.${this.name}.username/password are wrong`);
    }
    if (a.status === 429) throw new AppError('TOOMANYREQUESTS', `upstream ${this.name} rate-limits pulls (HTTP 429) for ${what}: try again later, or set upstreams.${this.name}.username/password to pull with an account`);
    throw new AppError('INTERNAL', `upstream ${this.name} answered HTTP ${a.status} for ${what}; try again later`);
  }
}

interface Challenge { scheme: string; params: Record<string, string> }

/** Parses `Bearer realm="…",service="…",scope="…"`. */
export function parseChallenge(h: string): Challenge | null {
  const m = /^(\w+)\s*(.*)$/.exec(h.trim());
  if (!m) return null;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

/** The manifest's own mediaType field, else the Content-Type header. */
function manifestType(bytes: Buffer, contentType: string): string {
  try {
    const j = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof j.mediaType === 'string') return j.mediaType;
  } catch {
    throw new AppError('MANIFEST_INVALID', 'upstream manifest is not valid JSON');
  }
  return contentType.split(';')[0]!.trim();
}
