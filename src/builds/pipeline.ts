import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, isAppError } from '../core/errors.ts';
import type { Digest } from '../core/digest.ts';
import type { Build, BuildPatch, Metadata } from '../metadata/types.ts';
import type { LogStore } from '../storage/logs.ts';
import type { EventBus, EventKind } from '../events/bus.ts';
import type { JobTokens } from '../auth/index.ts';
import type { BuildEngine, GitFetcher } from './types.ts';
import { sourceFor } from './source.ts';
import { enterPhase } from './phases.ts';
import { LogBuffer } from './logbuffer.ts';
import { buildView } from './views.ts';

/** What running one build needs. */
export interface PipelineDeps {
  metadata: Metadata; events: EventBus; logs: LogStore; engine: BuildEngine; git: GitFetcher; jobTokens: JobTokens;
  secretKey: Uint8Array;
  /** The registry builds push to: host[:port] as in image names; `insecure` = plain HTTP. */
  registry: { host: string; insecure: boolean };
  /** Namespaces every build may pull base images from (besides its own account's). */
  baseNamespaces: string[];
  /** Facts about a pushed image (config digest, total size, layer count). */
  describeImage(repository: string, digest: Digest): Promise<{ imageId: Digest; size: number; layers: number }>;
  workDir: string; buildTimeoutMs: number; heartbeatMs: number;
  onFinished(build: Build): Promise<void>;
}

const now = () => new Date().toISOString();

/**
 * Runs a claimed build through fetching → building → pushing → succeeded | failed | cancelled. A heartbeat keeps the
 * claim alive; when it is lost (another worker reclaimed the build) the work stops without writing anything, and when
 * cancellation is requested or the timeout passes, the engine's process tree is killed through the AbortSignal.
 */
export async function runBuild(claimed: Build, workerId: string, deps: PipelineDeps): Promise<void> {
  const { metadata, events } = deps;
  let build = claimed;
  const ac = new AbortController();
  let stopReason: 'lost' | 'cancel' | 'timeout' | null = null;
  const stop = (why: 'lost' | 'cancel' | 'timeout') => { if (!stopReason) { stopReason = why; ac.abort(new AppError('INVALID', `build ${why}`)); } };
  const timeout = setTimeout(() => stop('timeout'), deps.buildTimeoutMs);
  const beat = setInterval(() => {
    metadata.builds.heartbeat(build.id, workerId).then((h) => {
      if (!h.owned) stop('lost');
      else if (h.cancelRequested) stop('cancel');
    }, () => undefined);
  }, deps.heartbeatMs);
  const out = new LogBuffer({ build, logs: deps.logs, events });
  const dir = join(deps.workDir, 'builds', build.id);
  const service = await metadata.services.get(build.serviceId);
  const app = await metadata.applications.get(build.applicationId);
  const account = await metadata.accounts.get(build.accountId);

  const update = async (patch: BuildPatch, kind?: EventKind) => {
    const next = await metadata.builds.update(build.id, patch, workerId);
    if (!next) { stop('lost'); throw new AppError('INVALID', 'build was taken over by another worker'); }
    build = next;
    if (kind) await events.record({ kind, accountId: build.accountId, applicationId: build.applicationId, buildId: build.id, payload: buildView(build, service, deps.registry.host) });
  };
  const phase = async (status: 'building' | 'pushing', title: string) => {
    out.line(title, status);
    await update({ status, phases: enterPhase(build.phases, status, now()) }, 'build.phase');
  };

  try {
    if (!service || !app || !account) throw new AppError('INVALID', 'the service of this build no longer exists');
    await events.record({ kind: 'build.started', accountId: build.accountId, applicationId: build.applicationId, buildId: build.id, payload: buildView(build, service, deps.registry.host) });
    const src = sourceFor(service, deps.secretKey);
    out.line(`Fetching ${service.gitUrl} (${build.branch}${build.commit ? ` @ ${build.commit.slice(0, 12)}` : ''})`, 'fetching');
    const commit = build.commit ?? await deps.git.resolveBranch(src, build.branch, { signal: ac.signal });
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const info = await deps.git.checkout(src, commit, join(dir, 'src'), { signal: ac.signal, log: (l) => out.line(l) });
    out.line(`Checked out ${info.commit.slice(0, 12)} "${info.message.split('\n')[0]}" by ${info.author}`);
    await update({ commit: info.commit, commitMessage: info.message, commitAuthor: info.author });

    await phase('building', `Building ${service.dockerfile} in ${service.context} with ${deps.engine.name}`);
    const contextDir = join(dir, 'src', service.context);
    const password = deps.jobTokens.issue({
      buildId: build.id, repository: build.repository,
      pullNamespaces: [account.namespace, ...deps.baseNamespaces], ttlSeconds: Math.ceil(deps.buildTimeoutMs / 1000) + 600,
    });
    const result = await deps.engine.buildAndPush({
      buildId: build.id, contextDir, dockerfile: join(dir, 'src', service.dockerfile),
      buildArgs: { ...app.env, ...service.buildArgs },
      labels: {
        'org.opencontainers.image.source': service.gitUrl,
        'org.opencontainers.image.revision': info.commit,
        'org.opencontainers.image.created': now(),
        'org.opencontainers.image.title': `${app.name}/${service.name}`,
      },
      target: { registry: deps.registry.host, repository: build.repository, tag: info.commit, insecure: deps.registry.insecure },
      credentials: { username: 'buildgrid-job', password },
      cacheKey: service.id, signal: ac.signal,
      log: (l) => out.line(l),
      onPhase: (p) => { if (p === 'pushing') void phase('pushing', `Pushing ${deps.registry.host}/${build.repository}:${info.commit}`).catch(() => undefined); },
    });
    if (build.status !== 'pushing') await phase('pushing', `Pushed ${deps.registry.host}/${build.repository}:${info.commit}`);
    const d = await deps.describeImage(build.repository, result.manifestDigest);
    out.line(`Image ${deps.registry.host}/${build.repository}:${info.commit}`);
    out.line(`Digest ${result.manifestDigest}  ID ${d.imageId}  ${d.layers} layers, ${d.size} bytes`);
    await out.flush();
    await update({
      status: 'succeeded', imageDigest: result.manifestDigest, imageId: d.imageId, imageSize: d.size, layerCount: d.layers,
      finishedAt: now(), phases: enterPhase(build.phases, null, now()),
    }, 'build.succeeded');
  } catch (err) {
    if (stopReason === 'lost') return;
    const status = stopReason === 'cancel' ? 'cancelled' : 'failed';
    const message = stopReason === 'timeout' ? `build timed out after ${Math.round(deps.buildTimeoutMs / 60000)} minutes`
      : stopReason === 'cancel' ? 'cancelled by request'
        : isAppError(err) ? err.message : `internal error: ${(err as Error).message}`;
    out.line(status === 'cancelled' ? 'Build cancelled.' : `Build failed: ${message}`, status);
    await out.flush();
    const next = await metadata.builds.update(build.id, {
      status, error: status === 'cancelled' ? null : message, finishedAt: now(), phases: enterPhase(build.phases, null, now()),
    }, workerId);
    if (!next) return;
    build = next;
    await events.record({ kind: status === 'cancelled' ? 'build.cancelled' : 'build.failed', accountId: build.accountId, applicationId: build.applicationId, buildId: build.id, payload: buildView(build, service, deps.registry.host) });
  } finally {
    clearTimeout(timeout);
    clearInterval(beat);
    await out.flush();
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  await deps.onFinished(build);
}
