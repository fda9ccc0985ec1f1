import { randomUUID } from 'node:crypto';
import type { Digest } from '../../core/digest.ts';
import type { Build } from '../../metadata/types.ts';
import type { BuildBackend, BuildContext } from '../backend.ts';
import type { WorkerClient } from './client.ts';

/**
 * The backend of `buildgrid worker`: every call goes to the server's /api/v1/worker/* (which applies it through its
 * own local backend after checking this worker owns the build). `onFinished` is the server's business (its update
 * endpoint concludes the deployment), so it does nothing here.
 */
export function createRemoteBackend(client: WorkerClient): BuildBackend {
  const at = (b: Build, what: string) => `/worker/builds/${encodeURIComponent(b.id)}/${what}`;
  return {
    async claim(worker) {
      return (await client.call<{ build: Build | null }>('/worker/claim', { worker })).build;
    },
    // Not retried: a missed beat is harmless (the next one comes soon), a late one is useless.
    heartbeat: (b, worker) => client.call(at(b, 'heartbeat'), { worker }, { retryMs: 0 }),
    async update(b, patch, worker, event) {
      return (await client.call<{ build: Build | null }>(at(b, 'update'), { worker, patch, event })).build;
    },
    // Retried with the same batch name: if the first attempt was stored but its answer lost, the retry is not.
    async appendLog(b, worker, lines) {
      await client.call(at(b, 'log'), { worker, lines, batch: randomUUID() });
    },
    async recordEvent(b, worker, kind) {
      await client.call(at(b, 'events'), { worker, kind });
    },
    async context(b, worker) {
      return (await client.call<{ context: BuildContext | null }>(at(b, 'context'), { worker })).context;
    },
    describeImage: (b, worker, digest: Digest) => client.call(at(b, 'image'), { worker, digest }),
    onFinished: async () => undefined,
  };
}
