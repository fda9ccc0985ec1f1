import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { createHmac } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyBaseLogger } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { openMetadata, withReadCache, type Metadata } from '../metadata/index.ts';
import {
  createAuthCache, createLoginLimiter, createPeople, createRegistryAuthenticator, createAccessRules,
  createRegistryTokens, grantedAccess, parseScope, createJobTokens, reservedNamespaces, type People,
} from '../auth/index.ts';
import { clientAddress, trustedProxies } from '../core/client-address.ts';
import { createRegistryHandler } from '../registry/server.ts';
import { registerApi, type RouteEntry } from '../api/server.ts';
import { createMetrics, listenMetrics, type MetricsListener } from './metrics.ts';
import { applyHeaders, securityHeaders } from './headers.ts';
import { describeMetadata, metadataOptions, openStorage } from './backends.ts';
import { loadOrCreateSecretKey } from './keys.ts';
import { createBuilds } from './builds.ts';
import { workerApi } from './workers.ts';
import { createHooks } from './hooks.ts';
import { createLifecyclePart } from './lifecycle.ts';
import { ensureAdmin } from './bootstrap.ts';
import { registerWeb } from './web.ts';
import { createMirror } from './mirror.ts';

/** A running BuildGrid server. */
export interface RunningServer {
  /** The bound URL (http://host:port). */
  url: string;
  port: number;
  log: Logger;
  metadata: Metadata;
  people: People;
  /** The separate metrics listener's URL (http://host:port) when metricsHost is set. */
  metricsUrl?: string;
  /** Every HTTP route of the API and dashboard with the access it declares (deny by default: api/route-access.ts). */
  routes(): RouteEntry[];
  close(): Promise<void>;
}

/**
 * The composition root: builds every part from the configuration (the only place that knows concrete drivers), then
 * listens. /v2 goes straight to the registry's node:http handler (the hot path); everything else to Fastify.
 */
export async function startServer(config: Config, opts: { logger?: Logger } = {}): Promise<RunningServer> {
  const log = opts.logger ?? pino({ level: config.logLevel });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const secretKey = loadOrCreateSecretKey(dataDir);
  const metadataOpts = metadataOptions(config, dataDir);
  const metadata = withReadCache(await openMetadata(metadataOpts), { ttlMs: config.registryCacheSeconds * 1000 });
  const storage = await openStorage(config, dataDir).catch(async (err: unknown) => {
    await metadata.close();
    throw err;
  });
  const blobs = storage.blobs;
  const cache = createAuthCache();
  const limiter = createLoginLimiter({ maxFailuresPerMinute: config.loginFailuresPerMinute });
  const people = createPeople({ metadata, secretKey, cache, limiter, reservedNamespaces: reservedNamespaces(config.baseNamespaces, config.reservedNamespaces) });
  const rules = createAccessRules({ metadata, cache });
  const jobTokens = createJobTokens({ secretKey });
  const authenticator = createRegistryAuthenticator({ metadata, limiter, cache, jobTokens });
  const tokens = createRegistryTokens({ metadata, secretKey, issuer: config.publicUrl, ttlSeconds: config.tokenTtlSeconds });
  const proxies = trustedProxies(config.trustProxy);
  const clientAddressOf = (req: IncomingMessage) => clientAddress(req, proxies);
  const metrics = createMetrics({ readCache: () => metadata.readCache.stats() });
  const service = new URL(config.publicUrl).host;

  await ensureAdmin({ config, metadata, people, log });
  const builds = await createBuilds({ config, dataDir, metadata, blobs, logs: storage.logs, secretKey, registryHost: service, log });
  const hooks = createHooks({ config, metadata, secretKey, builds, log });
  const lifecycle = createLifecyclePart({
    config, metadata, blobs, maintenance: storage.maintenance, exclusiveStore: metadataOpts.kind === 'sqlite', registryHost: service, log,
  });
  await lifecycle.recover(); // before serving: put back what a garbage collection killed mid-sweep still needs

  const registry = createRegistryHandler({
    metadata, blobs, ingest: blobs, authenticator, rules, tokens, clientAddress: clientAddressOf,
    realm: `${config.publicUrl}/v2/token`, service, publicUrl: config.publicUrl,
    maxManifestBytes: config.maxManifestBytes,
    uploadKey: createHmac('sha256', secretKey).update('upload-ids').digest(),
    grant: (p, requested) => grantedAccess(rules, p, requested),
    parseScope, pulls: lifecycle.pulls, mirror: createMirror({ config, metadata, blobs, log }),
    observe: (m) => metrics.observe({ ...m, route: `registry.${m.route}` }),
    onError: (err, req) => log.error({ err, url: req.url, method: req.method }, 'registry request failed'),
  });

  const headers = securityHeaders({ https: config.publicUrl.startsWith('https:') });
  const serverFactory = (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void) =>
    createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      applyHeaders(res, headers);
      if (req.url !== undefined && (req.url === '/v2' || req.url.startsWith('/v2/'))) registry(req, res);
      else fastifyHandler(req, res);
    });
  const api = Fastify({
    loggerInstance: log.child({ part: 'api' }) as unknown as FastifyBaseLogger, serverFactory, bodyLimit: 1024 * 1024,
  }) as unknown as FastifyInstance;
  const routeTable = await registerApi(api, { metadata, people, registryHost: service, publicUrl: config.publicUrl, metrics, clientAddress: clientAddressOf,
    sessionKey: createHmac('sha256', secretKey).update('dashboard-csrf').digest(), metricsAccess: config.metricsHost ? 'elsewhere' : 'admin',
    catalog: builds.catalog, deployer: builds.deployer, logs: builds.logs, events: builds.events, hooks, lifecycle: lifecycle.lifecycle, queue: builds.queue,
    workers: workerApi({ config, metadata, builds, jobTokens, registryHost: service }), ready: async () => {
    await metadata.ping();
    await blobs.stat('sha256:0000000000000000000000000000000000000000000000000000000000000000');
  } });
  await registerWeb(api);
  const sweep = setInterval(() => void blobs.sweepUploads().catch((err: unknown) => log.warn({ err }, 'upload sweep failed')), 3600_000);
  sweep.unref();

  await api.listen({ port: config.port, host: config.host });
  let metricsListener: MetricsListener | undefined;
  if (config.metricsHost) {
    metricsListener = await listenMetrics(metrics, config.metricsHost).catch(async (err: unknown) => {
      clearInterval(sweep);
      await api.close();
      await metadata.close();
      storage.close();
      throw err;
    });
  }
  const addr = api.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info({ url, publicUrl: config.publicUrl, metrics: metricsListener?.url, dataDir, metadata: describeMetadata(metadataOpts), storage: storage.description },
    `BuildGrid listening on ${url} (public URL ${config.publicUrl})`);
  builds.start(jobTokens);
  hooks.start();
  lifecycle.start();
  return {
    url, port, log, metadata, people, metricsUrl: metricsListener?.url, routes: routeTable.list,
    async close() {
      clearInterval(sweep);
      await metricsListener?.close();
      await hooks.stop();
      await builds.stop();
      await lifecycle.stop(); // aborts a run in progress, so a `wait` request does not hold api.close() up
      await api.close();
      await metadata.close();
      storage.close();
    },
  };
}
