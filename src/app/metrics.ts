import { Registry, Counter, Histogram, collectDefaultMetrics } from 'prom-client';
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
