import { useState } from 'react';
import type { NotificationAttempt, NotificationDelivery } from '../../api/types';
import { duration } from '../../lib/time';
import { Empty } from '../Feedback';
import { StatusBadge } from '../Status';
import { RelTime } from '../Time';

const BADGE: Record<NotificationDelivery['status'], { status: string; label: string }> = {
  pending: { status: 'queued', label: 'Pending' },
  succeeded: { status: 'succeeded', label: 'Delivered' },
  failed: { status: 'failed', label: 'Failed' },
};

/** What the receiver answered to one attempt: "HTTP 503", or the error when there was no answer (timeout, refused…). */
const outcome = (a: { statusCode: number | null; error: string | null }): string =>
  a.statusCode !== null ? `HTTP ${a.statusCode}` : a.error ?? 'no answer';

/**
 * Recent deliveries: when, event, endpoint, status, attempts, each with a Details row (every attempt's answer and the
 * payload) and, with `onRedeliver`, a Redeliver button. `urlOf` names an endpoint by its URL. Each delivery is its own
 * <tbody data-delivery data-status data-event>.
 */
export function DeliveriesTable({ deliveries, urlOf, onRedeliver }: {
  deliveries: NotificationDelivery[]; urlOf: (endpointId: string) => string; onRedeliver?: (d: NotificationDelivery) => void;
}) {
  const [open, setOpen] = useState<string | null>(null);
  if (deliveries.length === 0) {
    return <Empty title="No deliveries yet"><p>A delivery appears here when a build or deployment of this account starts or finishes and an endpoint subscribes to that event.</p></Empty>;
  }
  return (
    <div className="tablewrap">
      <table className="table" aria-label="Notification deliveries">
        <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Endpoint</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
        {deliveries.map((d) => (
          <tbody key={d.id} data-delivery={d.id} data-status={d.status} data-event={d.event}>
            <tr>
              <td data-label="When" className="nowrap"><RelTime iso={d.createdAt} /></td>
              <td data-label="Event" className="mono small">
                {d.event}
                {d.redeliveryOf && <p className="hint">redelivery of <span className="mono">{d.redeliveryOf.slice(0, 8)}</span></p>}
              </td>
              <td data-label="Endpoint" className="mono small break">{urlOf(d.endpointId)}</td>
              <td data-label="Status">
                <StatusBadge status={BADGE[d.status].status} label={BADGE[d.status].label} />
                <p className="small" data-testid="delivery-last" title={d.lastError ?? undefined}>
                  {d.lastStatusCode !== null || d.lastError ? outcome({ statusCode: d.lastStatusCode, error: d.lastError }) : <span className="muted">not tried yet</span>}
                </p>
                {d.status === 'pending' && d.nextAttemptAt && d.attemptCount > 0 && <p className="hint">next try at {new Date(d.nextAttemptAt).toLocaleTimeString()}</p>}
              </td>
              <td data-label="Attempts">
                <span data-testid="delivery-attempts">{d.attemptCount} of {d.maxAttempts}</span>
                <br />
                <button type="button" className="btn btn-small btn-quiet" aria-expanded={open === d.id} onClick={() => setOpen(open === d.id ? null : d.id)}>
                  {open === d.id ? 'Hide details' : 'Details'}
                </button>
              </td>
              <td>
                {onRedeliver && d.status !== 'pending' && (
                  <button type="button" className="btn btn-small" aria-label={`Redeliver ${d.event} delivery ${d.id.slice(0, 8)}`} onClick={() => onRedeliver(d)}>Redeliver</button>
                )}
              </td>
            </tr>
            {open === d.id && <tr><td colSpan={6}><Details d={d} /></td></tr>}
          </tbody>
        ))}
      </table>
    </div>
  );
}

function Details({ d }: { d: NotificationDelivery }) {
  return (
    <div className="small">
      <p className="muted">Delivery <span className="mono">{d.id}</span>{d.completedAt && <> · ended <RelTime iso={d.completedAt} /></>}</p>
      {d.attempts.length === 0 ? <p className="muted">Not tried yet.</p> : (
        <ol aria-label="Attempts">
          {d.attempts.map((a: NotificationAttempt) => (
            <li key={a.n}><RelTime iso={a.startedAt} /> · {outcome(a)} · {duration(a.durationMs)}</li>
          ))}
        </ol>
      )}
      <pre className="payload mono small" tabIndex={0} aria-label="Payload">{JSON.stringify(d.payload, null, 2)}</pre>
    </div>
  );
}
