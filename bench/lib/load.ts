// Load generators and registry clients shared by the benchmarks: the BuildGrid API, Docker token auth, curl (blob
// GETs, one process per stream), wrk (manifest GETs) and skopeo (pulls). All external processes, so the driver's own
// event loop never limits a measurement.

import { createHash } from 'node:crypto';
import { runOk } from '../../test/harness/tools.ts';

/** One BuildGrid API call (JSON in and out); never throws on a status. */
export async function api<T = any>(base: string, token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* keep text */
  }
  return { status: res.status, body: parsed as T };
}

/** A Docker registry bearer token for pull of `repo` from `realm`, with Basic credentials. */
export async function fetchToken(realm: string, service: string, repo: string, cred: { username: string; password: string }): Promise<string> {
  const u = new URL(realm);
  u.searchParams.set('service', service);
  u.searchParams.set('scope', `repository:${repo}:pull`);
  const r = await fetch(u, { headers: { authorization: basicHeader(cred) } });
  const body = (await r.json().catch(() => ({}))) as { token?: string; access_token?: string };
  const t = body.token ?? body.access_token;
  if (r.status !== 200 || !t) throw new Error(`token request to ${realm} failed: ${r.status} ${JSON.stringify(body)}`);
  return t;
}

/** The Basic authorization header for `c`. */
export function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** Seconds one `skopeo copy` takes. */
export async function skopeoCopy(src: string, dst: string, extra: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await runOk('skopeo', ['copy', '--quiet', ...extra, src, dst], { timeoutMs: 300_000 });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Checks one authenticated GET answers 200 (and, for blobs, the right digest) before it is load-tested. */
export async function expect200(url: string, headers: Record<string, string>, what: string, digest?: string): Promise<void> {
  const res = await fetch(url, { headers });
  if (digest) {
    const h = createHash('sha256');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) h.update(chunk);
    if (res.status === 200 && `sha256:${h.digest('hex')}` !== digest) throw new Error(`${what}: body does not match ${digest}`);
  } else {
    await res.arrayBuffer();
  }
  if (res.status !== 200) throw new Error(`${what}: GET ${url} answered ${res.status}, expected 200`);
}

/** curl/wrk `-H` arguments. */
export const headerArgs = (headers: Record<string, string>): string[] => Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]);

/** One curl GET to /dev/null; MB/s (10^6 bytes/s) as curl measured it, after checking status and size. */
export async function curlOnce(url: string, headers: Record<string, string>, size: number): Promise<{ mbps: number; seconds: number }> {
  const r = await runOk('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', ...headerArgs(headers), url], { timeoutMs: 300_000 });
  const [code, bytes, secs] = r.stdout.trim().split(' ');
  if (code !== '200' || Number(bytes) !== size) throw new Error(`curl ${url}: status ${code}, ${bytes} bytes (expected 200, ${size})`);
  return { mbps: size / Number(secs) / 1e6, seconds: Number(secs) };
}

/** `n` curls in parallel (separate processes); aggregate MB/s = n·size / wall time from first spawn to last exit. */
export async function curlParallel(n: number, url: string, headers: Record<string, string>, size: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: n }, () => curlOnce(url, headers, size)));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return (n * size) / secs / 1e6;
}

/** What one wrk run measured. */
export interface WrkResult { rps: number; requests: number; non2xx: number; errors: number; latencyAvg: string }

/** One wrk run (2 threads at most) against `url`; throws when its output cannot be read. */
export async function wrk(url: string, headers: Record<string, string>, connections: number, seconds: number): Promise<WrkResult> {
  const threads = Math.min(2, connections);
  const r = await runOk('wrk', [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, ...headerArgs(headers), url], { timeoutMs: (seconds + 30) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(r.stdout)?.[1] ?? 0);
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(r.stdout);
  const errors = se ? se.slice(1).reduce((s, x) => s + Number(x), 0) : 0;
  const latencyAvg = /Latency\s+(\S+)/.exec(r.stdout)?.[1] ?? '?';
  const requests = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? NaN);
  if (!Number.isFinite(rps)) throw new Error(`cannot parse wrk output:\n${r.stdout}\n${r.stderr}`);
  return { rps, requests, non2xx, errors, latencyAvg };
}

