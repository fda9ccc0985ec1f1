import type { Digest } from '../core/digest.ts';
import type { Build, Metadata } from '../metadata/types.ts';
import type { LogStore } from '../storage/logs.ts';
import type { EventBus } from '../events/bus.ts';
import type { JobTokens } from '../auth/index.ts';
import type { BuildBackend } from './backend.ts';
import { sourceFor } from './source.ts';
import { buildView } from './views.ts';

/**
 * The in-process backend: the metadata store, the log store and the event bus directly. It is also what the
 * /api/v1/worker/* endpoints call on behalf of remote workers, after checking the worker owns the build.
 */
export function createLocalBackend(opts: {
  metadata: Metadata; events: EventBus; logs: LogStore; jobTokens: JobTokens; secretKey: Uint8Array;
  registryHost: string; baseNamespaces: string[];
  describeImage(repository: string, digest: Digest): Promise<{ imageId: Digest; size: number; layers: number }>;
  onFinished(build: Build): Promise<void>;
  /** The per-account limit each claim applies (fairness.ts); absent or null: first come, first served. */
  maxPerAccount?: () => number | null;
}): BuildBackend {
  const { metadata, events } = opts;
  const record = async (b: Build, kind: Parameters<BuildBackend['recordEvent']>[2]) => {
    const service = await metadata.services.get(b.serviceId);
    await events.record({ kind, accountId: b.accountId, applicationId: b.applicationId, buildId: b.id, payload: buildView(b, service, opts.registryHost) });
  };
  return {
    claim: (workerId) => metadata.builds.claim(workerId, { maxPerAccount: opts.maxPerAccount?.() ?? null }),
    heartbeat: (b, workerId) => metadata.builds.heartbeat(b.id, workerId),
    async update(b, patch, workerId, event) {
      const next = await metadata.builds.update(b.id, patch, workerId);
      if (next && event) await record(next, event);
      return next;
    },
    async appendLog(b, _workerId, lines, o) {
      const stored = await opts.logs.append(b.id, lines, o);
      if (stored.length) events.publish({ kind: 'build.log', accountId: b.accountId, applicationId: b.applicationId, buildId: b.id, payload: { lines: stored } });
    },
    recordEvent: (b, _workerId, kind) => record(b, kind),
    async context(b, _workerId, ttlSeconds) {
      const service = await metadata.services.get(b.serviceId);
      const app = await metadata.applications.get(b.applicationId);
      const account = await metadata.accounts.get(b.accountId);
      if (!service || !app || !account) return null;
      // Bound to this claim (attempt) and to the one tag the build pushes: its commit, or — for a build queued by
      // branch — the commit the worker records on the build after checkout (auth/credentials.ts reads it on use).
      const jobToken = opts.jobTokens.issue({
        buildId: b.id, attempt: b.attempt, repository: b.repository, pullNamespaces: [account.namespace, ...opts.baseNamespaces],
        tag: b.commit, ttlSeconds,
      });
      return { service, app, account, source: sourceFor(service, opts.secretKey), jobToken };
    },
    describeImage: (b, _workerId, digest) => opts.describeImage(b.repository, digest),
    onFinished: (b) => opts.onFinished(b),
  };
}
