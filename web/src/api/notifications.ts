import { api, call } from './client';
import type { CreatedNotificationEndpoint, NewNotificationEndpoint, NotificationDelivery, NotificationEndpoint, NotificationEventName } from './types';

/**
 * The notification-endpoint API of an account (developers and owners; viewers are refused with 403) as the dashboard
 * uses it. Every call resolves to the answer's data or throws ApiError with the server's message (see client.ts).
 */

/** Every event an endpoint can subscribe to, in the order the API lists them. */
export const NOTIFICATION_EVENTS: readonly NotificationEventName[] = [
  'build.queued', 'build.started', 'build.succeeded', 'build.failed', 'deployment.succeeded', 'deployment.failed',
];

const acct = (ns: string) => ({ params: { path: { namespace: ns } } });

/** The account's endpoints (without their secrets). */
export const listEndpoints = (ns: string): Promise<NotificationEndpoint[]> =>
  call(api.GET('/api/v1/accounts/{namespace}/notifications', acct(ns)));

/** Adds an endpoint; the answer carries its signing secret, the only time it is shown. Throws ApiError 400 for a bad URL, event or secret. */
export const addEndpoint = (ns: string, body: NewNotificationEndpoint): Promise<CreatedNotificationEndpoint> =>
  call(api.POST('/api/v1/accounts/{namespace}/notifications', { ...acct(ns), body }));

/** Deletes an endpoint and its delivery log; throws ApiError 404 when it is not the account's. */
export const removeEndpoint = async (ns: string, id: string): Promise<void> => {
  await call(api.DELETE('/api/v1/accounts/{namespace}/notifications/{id}', { params: { path: { namespace: ns, id } } }));
};

/** Recent deliveries, newest first, of every endpoint or of `endpoint` only. */
export const listDeliveries = (ns: string, endpoint?: string, limit = 50): Promise<NotificationDelivery[]> =>
  call(api.GET('/api/v1/accounts/{namespace}/notifications/deliveries', { params: { path: { namespace: ns }, query: { limit, ...(endpoint ? { endpoint } : {}) } } }));

/** Sends a delivery's payload again, as a new delivery with fresh attempts; throws ApiError 404 when unknown. */
export const redeliver = (ns: string, id: string): Promise<NotificationDelivery> =>
  call(api.POST('/api/v1/accounts/{namespace}/notifications/deliveries/{id}/redeliver', { params: { path: { namespace: ns, id } } }));
