import { isIP } from 'node:net';
import { AppError } from '../core/errors.ts';
import { DestinationRefused, type NetGuard } from '../core/netguard.ts';
import { newSecret, randomId } from '../core/ids.ts';
import {
  NOTIFICATION_EVENTS, type Account, type Metadata, type NotificationDelivery, type NotificationEndpoint, type NotificationEvent,
} from '../metadata/types.ts';
import { NOTIFY_SECRET_PREFIX, sealEndpointSecret } from './secrets.ts';

/**
 * Per-account notification endpoints: validation, secrets, the delivery log and redelivery. Any http(s) URL is
 * accepted except one whose host is an address the operator's allowPrivateNetworks refuses (loopback, private,
 * link-local, this machine): that is said at once. A host name is checked when each notification is sent (send.ts),
 * since where a name points can change at any time.
 */

export interface NewEndpoint { url: string; events?: string[]; secret?: string; description?: string }

export interface Notifications {
  /** Creates an endpoint; resolves with its signing secret (generated unless given). Throws INVALID for a bad URL or event. */
  add(account: Account, input: NewEndpoint, createdBy: string): Promise<{ endpoint: NotificationEndpoint; secret: string }>;
  list(account: Account): Promise<NotificationEndpoint[]>;
  /** Throws NOT_FOUND for an endpoint of another account or none. */
  remove(account: Account, id: string): Promise<void>;
  deliveries(account: Account, filter: { endpointId?: string; limit: number }): Promise<NotificationDelivery[]>;
  /** Sends a delivery's payload again as a new delivery (new id, fresh attempts). Throws NOT_FOUND. */
  redeliver(account: Account, deliveryId: string): Promise<NotificationDelivery>;
}

/**
 * Throws INVALID unless `url` is an absolute http(s) URL; with `guard`, throws DestinationRefused (INVALID) when its
 * host is an address literal the guard refuses.
 */
export function checkEndpointUrl(url: string, guard?: NetGuard): string {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw new AppError('INVALID', `"${url.slice(0, 100)}" is not a URL: give an absolute http:// or https:// URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AppError('INVALID', `notification URLs must be http:// or https://, not ${u.protocol}`);
  if (url.length > 2048) throw new AppError('INVALID', 'the URL is longer than 2048 characters');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const why = guard && isIP(host) ? guard.refusal(host) : null;
  if (why) throw new DestinationRefused(host, why);
  return u.toString();
}

/** Throws INVALID for an event that is not one of NOTIFICATION_EVENTS; none given = all of them. */
export function checkEvents(events: string[] | undefined): NotificationEvent[] {
  if (!events || events.length === 0) return [...NOTIFICATION_EVENTS];
  for (const e of events) {
    if (!(NOTIFICATION_EVENTS as readonly string[]).includes(e)) throw new AppError('INVALID', `unknown event "${e.slice(0, 60)}": choose from ${NOTIFICATION_EVENTS.join(', ')}`);
  }
  return [...new Set(events)] as NotificationEvent[];
}

export function createNotifications(opts: { metadata: Metadata; secretKey: Uint8Array; guard: NetGuard; maxAttempts: number; onQueued: () => void }): Notifications {
  const { metadata } = opts;
  const endpointOf = async (account: Account, id: string) => {
    const e = await metadata.notifications.getEndpoint(id);
    if (!e || e.accountId !== account.id) throw new AppError('NOT_FOUND', `notification endpoint ${id} not found in ${account.namespace}`);
    return e;
  };
  return {
    async add(account, input, createdBy) {
      const url = checkEndpointUrl(input.url, opts.guard);
      const events = checkEvents(input.events);
      if (input.secret !== undefined && (input.secret.length < 16 || input.secret.length > 256)) throw new AppError('INVALID', 'a signing secret must have 16 to 256 characters (or leave it out to have one generated)');
      const secret = input.secret ?? newSecret(NOTIFY_SECRET_PREFIX);
      const id = randomId();
      const endpoint = await metadata.notifications.createEndpoint({
        id, accountId: account.id, url, events, secretEnc: sealEndpointSecret(opts.secretKey, id, secret),
        description: input.description?.trim().slice(0, 200) || null, createdBy,
      });
      return { endpoint, secret };
    },
    list: (account) => metadata.notifications.listEndpoints(account.id),
    async remove(account, id) {
      await endpointOf(account, id);
      await metadata.notifications.deleteEndpoint(id);
    },
    async deliveries(account, filter) {
      if (filter.endpointId) await endpointOf(account, filter.endpointId);
      return metadata.notifications.listDeliveries({ accountId: account.id, endpointId: filter.endpointId, limit: filter.limit });
    },
    async redeliver(account, deliveryId) {
      const d = await metadata.notifications.getDelivery(deliveryId);
      if (!d || d.accountId !== account.id) throw new AppError('NOT_FOUND', `delivery ${deliveryId} not found in ${account.namespace}`);
      const again = await metadata.notifications.enqueue({
        endpointId: d.endpointId, accountId: d.accountId, event: d.event, eventSeq: d.eventSeq, payload: d.payload,
        maxAttempts: opts.maxAttempts, redeliveryOf: d.id,
      });
      opts.onQueued();
      return again;
    },
  };
}
