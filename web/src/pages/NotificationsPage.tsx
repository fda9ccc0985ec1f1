import { useEffect, useState } from 'react';
import { listDeliveries, listEndpoints, redeliver, removeEndpoint } from '../api/notifications';
import type { CreatedNotificationEndpoint, NotificationDelivery, NotificationEndpoint } from '../api/types';
import { useSession } from '../lib/session';
import { useLoad } from '../lib/useLoad';
import { useAction } from '../lib/useAction';
import { ErrorBox, Loading, Notice } from '../components/Feedback';
import { PageHead } from '../components/PageHead';
import { SettingsNav } from '../components/SubNav';
import { AddedEndpoint, EndpointForm } from '../components/notifications/EndpointForm';
import { EndpointsTable } from '../components/notifications/Endpoints';
import { DeliveriesTable } from '../components/notifications/Deliveries';

/**
 * An account's notification endpoints (signed outgoing webhooks): list, add (the secret shown once), delete; the
 * recent deliveries with their status and attempts, filtered by endpoint, and Redeliver. The API lets developers and
 * owners in; viewers are told so. Deliveries are polled: every second while one is pending, else every 4 s.
 */
export function NotificationsPage({ ns }: { ns: string }) {
  const s = useSession();
  const account = s.accounts.find((a) => a.namespace === ns) ?? null;
  const allowed = s.can(account, 'developer');
  const [filter, setFilter] = useState('');
  const endpoints = useLoad(() => (allowed ? listEndpoints(ns) : Promise.resolve([])), `${ns}:${allowed}`);
  const deliveries = useLoad(() => (allowed ? listDeliveries(ns, filter || undefined) : Promise.resolve([])), `${ns}:${allowed}:${filter}`);
  const [added, setAdded] = useState<CreatedNotificationEndpoint | null>(null);
  const action = useAction();
  const [sent, setSent] = useState<string | null>(null);
  const pending = deliveries.data?.some((d) => d.status === 'pending') ?? false;

  useEffect(() => {
    if (!allowed) return;
    const t = setInterval(() => void deliveries.reload(), pending ? 1000 : 4000);
    return () => clearInterval(t);
  }, [allowed, pending, deliveries.reload]);

  const head = <><PageHead crumbs={`Settings · ${account?.name ?? ns}`} title="Notifications" /><SettingsNav ns={ns} /></>;
  if (!allowed) {
    return (
      <section>
        {head}
        <ErrorBox title="Not allowed" error={new Error(`Notification endpoints of ${ns} are seen and managed by its developers and owners (their URLs and delivery log can carry private details). Ask one of them.`)} />
      </section>
    );
  }

  const act = (what: () => Promise<void>) => {
    setSent(null);
    return action.run(what).then(() => undefined);
  };
  const remove = (e: NotificationEndpoint) => act(async () => {
    await removeEndpoint(ns, e.id);
    if (filter === e.id) setFilter('');
    await Promise.all([endpoints.reload(), deliveries.reload()]);
  });
  const again = (d: NotificationDelivery) => act(async () => {
    const n = await redeliver(ns, d.id);
    setSent(`The ${d.event} notification is being sent again as delivery ${n.id.slice(0, 8)}.`);
    await deliveries.reload();
  });
  const urls = new Map((endpoints.data ?? []).map((e) => [e.id, e.url]));
  const urlOf = (id: string) => urls.get(id) ?? id;

  return (
    <section>
      {head}
      <section className="card block" aria-labelledby="endpoints-h">
        <h2 id="endpoints-h">Endpoints</h2>
        <p className="muted">Each endpoint gets a signed JSON <code>POST</code> when builds and deployments of {ns} start and finish. A delivery without a <code>2xx</code> answer is retried with a growing delay.</p>
        {added ? <AddedEndpoint e={added} onDone={() => setAdded(null)} /> : <EndpointForm ns={ns} onAdded={(e) => { setAdded(e); void endpoints.reload(); }} />}
        {endpoints.loading && <Loading what="endpoints" />}
        {endpoints.error !== undefined && <ErrorBox error={endpoints.error} retry={endpoints.reload} />}
        {endpoints.data && <EndpointsTable endpoints={endpoints.data} onRemove={remove} />}
      </section>

      <section className="card block" aria-labelledby="deliveries-h">
        <div className="blockhead">
          <h2 id="deliveries-h">Recent deliveries</h2>
          <div className="field field-inline">
            <label htmlFor="delivery-filter">Endpoint</label>
            <select id="delivery-filter" value={filter} onChange={(e) => setFilter(e.target.value)}>
              <option value="">All endpoints</option>
              {(endpoints.data ?? []).map((e) => <option key={e.id} value={e.id}>{e.url}</option>)}
            </select>
          </div>
        </div>
        {action.error !== undefined && <ErrorBox error={action.error} />}
        {sent && <Notice>{sent}</Notice>}
        {deliveries.loading && <Loading what="deliveries" />}
        {deliveries.error !== undefined && <ErrorBox error={deliveries.error} retry={deliveries.reload} />}
        {deliveries.data && <DeliveriesTable deliveries={deliveries.data} urlOf={urlOf} onRedeliver={(d) => void again(d)} />}
      </section>
    </section>
  );
}
