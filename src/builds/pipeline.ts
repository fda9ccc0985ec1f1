import { mkdir, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, isAppError } from '../core/errors.ts';
import type { BaseImageRecord, Build, BuildPatch } from '../metadata/types.ts';
import type { BuildEngine, GitFetcher } from './types.ts';
import type { BuildBackend, BuildEventKind } from './backend.ts';
import { enterPhase } from './phases.ts';
import { LogBuffer } from './logbuffer.ts';
import { baseImages, readConfinedDockerfile } from './base-images.ts';

/** What running one build needs. */
export interface PipelineDeps {
  /** Where the build's state, log, events and credentials come from and go to (local stores, or a server over HTTP). */
  backend: BuildBackend;
  engine: BuildEngine; git: GitFetcher;
  /** The registry builds push to: host[:port] as in image names; `insecure` = plain HTTP. */
  registry: { host: string; insecure: boolean };
  workDir: string; buildTimeoutMs: number; heartbeatMs: number;
}

const now = () => new Date().toISOString();

/**
 * Runs a claimed build through fetching → building → pushing → succeeded | failed | cancelled. A heartbeat keeps the
 * claim alive; when it is lost (another worker reclaimed the build) the work stops without writing anything, and when
 * cancellation is requested or the timeout passes, the engine's process tree is killed through the AbortSignal.
 */
export async function runBuild(claimed: Build, workerId: string, deps: PipelineDeps): Promise<void> {
  const { backend } = deps;
  let build = claimed;
  const ac = new AbortController();
  let stopReason: 'lost' | 'cancel' | 'timeout' | null = null;
  const stop = (why: 'lost' | 'cancel' | 'timeout') => { if (!stopReason) { stopReason = why; ac.abort(new AppError('INVALID', `build ${why}`)); } };
  const timeout = setTimeout(() => stop('timeout'), deps.buildTimeoutMs);
  const beat = setInterval(() => {
    backend.heartbeat(build, workerId).then((h) => {
      if (!h.owned) stop('lost');
      else if (h.cancelRequested) stop('cancel');
    }, () => undefined);
  }, deps.heartbeatMs);
  const out = new LogBuffer((lines) => backend.appendLog(build, workerId, lines));
  const dir = join(deps.workDir, 'builds', build.id);
  const ttlSeconds = Math.ceil(deps.buildTimeoutMs / 1000) + 600;

  const update = async (patch: BuildPatch, kind?: BuildEventKind) => {
    const next = await backend.update(build, patch, workerId, kind);
    if (!next) { stop('lost'); throw new AppError('INVALID', 'build was taken over by another worker'); }
    build = next;
  };
  const phase = async (status: 'building' | 'pushing', title: string) => {
    out.line(title, status);
    await update({ status, phases: enterPhase(build.phases, status, now()) }, 'build.phase');
  };

  try {
    const ctx = await backend.context(build, workerId, ttlSeconds);
    if (!ctx) throw new AppError('INVALID', 'the service of this build no longer exists');
    const { service, app, source: src, jobToken: password } = ctx;
    await backend.recordEvent(build, workerId, 'build.started');
    out.line(`Fetching ${service.gitUrl} (${build.branch}${build.commit ? ` @ ${build.commit.slice(0, 12)}` : ''})`, 'fetching');
    const commit = build.commit ?? await deps.git.resolveBranch(src, build.branch, { signal: ac.signal });
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const info = await deps.git.checkout(src, commit, join(dir, 'src'), { signal: ac.signal, log: (l) => out.line(l) });
    out.line(`Checked out ${info.commit.slice(0, 12)} "${info.message.split('\n')[0]}" by ${info.author}`);
    await update({ commit: info.commit, commitMessage: info.message, commitAuthor: info.author });

    await phase('building', `Building ${service.dockerfile} in ${service.context} with ${deps.engine.name}`);
    const contextDir = join(dir, 'src', service.context);
    const result = await deps.engine.buildAndPush({
      buildId: build.id, sourceDir: join(dir, 'src'), contextDir, dockerfile: join(dir, 'src', service.dockerfile),
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
    const d = await backend.describeImage(build, workerId, result.manifestDigest);
    out.line(`Image ${deps.registry.host}/${build.repository}:${info.commit}`);
    out.line(`Digest ${result.manifestDigest}  ID ${d.imageId}  ${d.layers} layers, ${d.size} bytes`);
    const bases = await recordedBases(join(dir, 'src'), service.dockerfile, { ...app.env, ...service.buildArgs }, deps, password, ac.signal);
    for (const b of bases) out.line(`Base image ${b.written} → ${b.resolved ?? '(not a valid reference)'}${b.digest ? ` ${b.digest}` : ''}`);
    await out.flush();
    await update({
      status: 'succeeded', imageDigest: result.manifestDigest, imageId: d.imageId, imageSize: d.size, layerCount: d.layers, baseImages: bases,
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
    const next = await backend.update(build, {
      status, error: status === 'cancelled' ? null : message, finishedAt: now(), phases: enterPhase(build.phases, null, now()),
    }, workerId);
    if (!next) return;
    build = next;
    await backend.recordEvent(build, workerId, status === 'cancelled' ? 'build.cancelled' : 'build.failed');
  } finally {
    clearTimeout(timeout);
    clearInterval(beat);
    await out.flush();
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  await backend.onFinished(build);
}

/** The build's base images (base-images.ts); empty when the Dockerfile cannot be read or parsed. Never throws. */
async function recordedBases(
  src: string, dockerfile: string, buildArgs: Record<string, string>, deps: PipelineDeps, password: string, signal: AbortSignal,
): Promise<BaseImageRecord[]> {
  try {
    const text = await readConfinedDockerfile(await realpath(src), join(src, dockerfile));
    if (text === null) return [];
    return await baseImages({
      dockerfile: text, buildArgs, registry: deps.registry.host, insecure: deps.registry.insecure,
      credentials: { username: 'buildgrid-job', password }, signal,
    });
  } catch {
    return [];
  }
}
