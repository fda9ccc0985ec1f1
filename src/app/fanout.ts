import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { createFsLogStore, type LogStore } from '../storage/logs.ts';
import { createPollingTransport, type FanoutTransport } from '../events/transport.ts';
import { s3Settings } from './backends.ts';

/**
 * The event bus's cross-node transport: `auto` = PostgreSQL LISTEN/NOTIFY when databaseUrl is set, otherwise none
 * (one node); `poll` = read the shared event log twice a second (several nodes on SQLite over a shared disk).
 */
export async function fanoutFor(config: Config): Promise<FanoutTransport | undefined> {
  const mode = config.eventFanout === 'auto' ? (config.databaseUrl ? 'postgres' : 'local') : config.eventFanout;
  if (mode === 'postgres') {
    if (!config.databaseUrl) throw new Error('eventFanout=postgres needs databaseUrl');
    const { createPgTransport } = await import('../events/pg-transport.ts');
    return createPgTransport({ url: config.databaseUrl });
  }
  return mode === 'poll' ? createPollingTransport() : undefined;
}

/**
 * Log stores for appends made on behalf of remote workers. The stores number lines from a per-process cache, which
 * is right while one process appends to a build's log; a remote worker's requests may reach any node, so each of its
 * appends uses a fresh store that reads the log's current end first.
 */
export async function freshLogStores(config: Config, dataDir: string): Promise<() => LogStore> {
  const s3 = s3Settings(config);
  if (!s3) return () => createFsLogStore({ root: join(dataDir, 'storage'), maxBytes: config.logMaxBytes });
  const [{ createS3Client }, { createS3LogStore }] = await Promise.all([import('../storage/s3-client.ts'), import('../storage/s3-logs.ts')]);
  const client = createS3Client(s3);
  return () => createS3LogStore({ client, settings: s3, maxBytes: config.logMaxBytes });
}
