import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, Counter, Histogram, collectDefaultMetrics } from 'prom-client';
import { AppError } from '../core/errors.ts';
import type { ReadCacheStats } from '../metadata/index.ts';

/** Prometheus metrics of one server process: requests, latency and bytes served, by route, method and status code. */
export interface Metrics {
  observe(m: { route: string; method: string; status: number; seconds: number; bytes: number }): void;
  /** The text exposition for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Creates a private metrics registry (one per server instance, so tests can run several in one process). `readCache`
 * exposes the registry read cache's counters (buildgrid_registry_cache_{hits,misses,invalidations}_total).
 */
export function createMetrics(opts: { readCache?: () => ReadCacheStats } = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'buildgrid_' });
  if (opts.readCache) {
    const stats = opts.readCache;
    for (const k of ['hits', 'misses', 'invalidations'] as const) {
      new Counter({
        name: `buildgrid_registry_cache_${k}_total`, help: `Registry read cache ${k} (repository, tag and manifest lookups)`, registers: [registry],
        collect() {
          this.reset();
          this.inc(stats()[k]);
        },
      });
    }
  }
  const labelNames = ['route', 'method', 'code'] as const;
  const requests = new Counter({ name: 'buildgrid_http_requests_total', help: 'HTTP requests', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'buildgrid_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
  });
  const bytes = new Counter({ name: 'buildgrid_http_response_bytes_total', help: 'Response body bytes served', labelNames, registers: [registry] });
  return {
    observe({ route, method, status, seconds, bytes: n }) {
      const labels = { route, method, code: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
      if (n > 0) bytes.inc(labels, n);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** `host:port` (IPv6 in brackets: `[::1]:9100`) → its parts. Throws AppError INVALID with the expected form. */
export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new AppError('INVALID', `metricsHost must be host:port, e.g. 127.0.0.1:9100 or [::1]:9100 (got "${value}")`);
  return { host: m[1] ?? m[2]!, port };
}

/** A listener that serves GET /metrics only. */
export interface MetricsListener {
  /** http://host:port it is bound to. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `metrics` at GET /metrics on `address` (host:port, see metricsHost) without authentication: the operator keeps
 * that address private (loopback, a cluster-internal interface). Anything else answers 404.
 */
export async function listenMetrics(metrics: Metrics, address: string): Promise<MetricsListener> {
  const { host, port } = parseHostPort(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }).end('only GET /metrics is served here\n');
      return;
    }
    metrics.render().then((m) => {
      res.writeHead(200, { 'Content-Type': m.contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : m.body);
    }, (err: unknown) => {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`metrics failed: ${(err as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new AppError('INVALID', `cannot serve metrics on metricsHost ${address}: ${err.message}; choose a free address`)));
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
