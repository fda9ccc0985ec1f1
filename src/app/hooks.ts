import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { destinationGuard } from './destinations.ts';
import type { Metadata } from '../metadata/types.ts';
import type { BuildsPart } from './builds.ts';
import { sourceFor } from '../builds/source.ts';
import { createHookReceiver, type HookReceiver } from '../hooks/receiver.ts';
import { createHookAdmin, type HookAdmin } from '../hooks/admin.ts';
import { createNotifications, type Notifications } from '../hooks/notifications.ts';
import { createDispatcher } from '../hooks/dispatcher.ts';
import { createPoller } from '../hooks/poller.ts';
import type { DeployFn } from '../hooks/types.ts';

/** Triggers and notifications, assembled: the hook receiver, hook and endpoint management, the sender and the poller. */
export interface HooksPart {
  receiver: HookReceiver; admin: HookAdmin; notifications: Notifications;
  maxBodyBytes: number;
  start(): void;
  stop(): Promise<void>;
}

const KEEP_DAYS = 30;

/** Wires hooks/ to the builder: the deployer behind DeployFn, the git fetcher behind the poller's head lookups. */
export function createHooks(opts: { config: Config; metadata: Metadata; secretKey: Uint8Array; builds: BuildsPart; log: Logger }): HooksPart {
  const { config, metadata, secretKey, builds, log } = opts;
  const deploy: DeployFn = async (req) => {
    const r = await builds.deployer.deploy({ ...req });
    const services = await metadata.services.list(req.app.id);
    return {
      deploymentId: r.deployment.id, status: r.deployment.status,
      builds: r.builds.map((b) => ({
        service: services.find((s) => s.id === b.serviceId)?.name ?? b.serviceId, buildId: b.id, status: b.status, commit: b.commit,
        reused: b.deploymentId !== r.deployment.id,
      })),
    };
  };
  const guard = destinationGuard(config);
  const dispatcher = createDispatcher({
    metadata, events: builds.events, secretKey, guard,
    maxAttempts: config.notificationMaxAttempts,
    backoffMs: config.notificationBackoffSeconds * 1000,
    maxBackoffMs: config.notificationBackoffMaxSeconds * 1000,
    timeoutMs: config.notificationTimeoutSeconds * 1000,
    onError: (err) => log.warn({ err }, 'notification delivery failed'),
  });
  const poller = createPoller({
    metadata, deploy, tickMs: config.pollTickSeconds * 1000,
    resolveHead: (s) => builds.git.resolveBranch(sourceFor(s, secretKey), s.branch, {}),
    onError: (err, s) => log.warn({ err, service: s?.id }, `polling ${s?.name ?? 'services'} failed: ${(err as Error).message}`),
  });
  const prune = () => {
    const before = new Date(Date.now() - KEEP_DAYS * 86400_000).toISOString();
    void Promise.all([metadata.hooks.pruneDeliveries(before), metadata.notifications.pruneDeliveries(before)])
      .catch((err: unknown) => log.warn({ err }, 'pruning hook and notification logs failed'));
  };
  let pruner: NodeJS.Timeout | null = null;
  return {
    receiver: createHookReceiver({ metadata, secretKey, deploy }),
    admin: createHookAdmin({ metadata, secretKey, publicUrl: config.publicUrl }),
    notifications: createNotifications({ metadata, secretKey, guard, maxAttempts: config.notificationMaxAttempts, onQueued: () => dispatcher.kick() }),
    maxBodyBytes: config.hookMaxBodyBytes,
    start() {
      dispatcher.start();
      poller.start();
      pruner = setInterval(prune, 3600_000);
      pruner.unref();
    },
    async stop() {
      if (pruner) clearInterval(pruner);
      await Promise.all([poller.stop(), dispatcher.stop()]);
    },
  };
}
