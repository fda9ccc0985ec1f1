import type { NotificationEndpoint } from '../../api/types';
import { NOTIFICATION_EVENTS } from '../../api/notifications';
import { ConfirmButton } from '../Dialog';
import { Empty } from '../Feedback';
import { RelTime } from '../Time';

/** The account's endpoints as a table; with `onRemove`, each row has Delete (after a confirmation). */
export function EndpointsTable({ endpoints, onRemove }: { endpoints: NotificationEndpoint[]; onRemove?: (e: NotificationEndpoint) => Promise<void> }) {
  if (endpoints.length === 0) {
    return <Empty title="No notification endpoints yet"><p>Add one to have builds and deployments POSTed to your chat, CI or incident tool as they start and finish.</p></Empty>;
  }
  return (
    <div className="tablewrap">
      <table className="table" aria-label="Notification endpoints">
        <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Description</th><th scope="col">Added</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {endpoints.map((e) => (
            <tr key={e.id} data-endpoint={e.id} data-url={e.url}>
              <td data-label="URL" className="mono small break">{e.url}</td>
              <td data-label="Events" className="mono small">{e.events.length === NOTIFICATION_EVENTS.length ? <span className="muted">all events</span> : e.events.join(', ')}</td>
              <td data-label="Description">{e.description ?? <span className="muted">—</span>}</td>
              <td data-label="Added"><RelTime iso={e.createdAt} /> <span className="muted small">by {e.createdBy}</span></td>
              <td>
                {onRemove && (
                  <ConfirmButton label="Delete" ariaLabel={`Delete endpoint ${e.url}`} title="Delete this endpoint?" confirmLabel="Delete endpoint" danger small onConfirm={() => onRemove(e)}>
                    <p><code>{e.url}</code> gets no more notifications, pending retries included, and its delivery log goes with it. This cannot be undone.</p>
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
