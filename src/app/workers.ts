import type { Config } from '../config/schema.ts';
import type { Metadata } from '../metadata/types.ts';
import { createWorkerTokens, type JobTokens } from '../auth/index.ts';
import type { WorkerApiDeps } from '../api/context.ts';
import type { BuildsPart } from './builds.ts';

/** The /api/v1/worker/* side of the composition: worker tokens, the backend remote workers use, their settings. */
export function workerApi(opts: { config: Config; metadata: Metadata; builds: BuildsPart; jobTokens: JobTokens; registryHost: string }): WorkerApiDeps {
  const { config } = opts;
  return {
    tokens: createWorkerTokens({ metadata: opts.metadata }),
    backend: opts.builds.remoteBackend(opts.jobTokens),
    settings: {
      registry: { host: opts.registryHost, insecure: config.publicUrl.startsWith('http://') },
      heartbeatMs: config.buildHeartbeatSeconds * 1000,
      buildTimeoutMs: config.buildTimeoutMinutes * 60_000,
      allowPrivateNetworks: config.allowPrivateNetworks,
    },
  };
}
