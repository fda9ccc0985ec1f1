import { useState } from 'react';
import type { TrashEntry } from '../../api/types';
import { restoreImage } from '../../api/lifecycle';
import { removalLabel } from '../../lib/lifecycle';
import { absolute } from '../../lib/time';
import { ErrorBox, Empty, Notice } from '../Feedback';
import { StatusBadge } from '../Status';
import { RelTime } from '../Time';
import { Bytes } from './Bytes';

const nameOf = (e: TrashEntry) => e.images[0] ?? `${e.repository}@${e.digest.slice(0, 19)}…`;

/** A Restore button for one removed image; `onRestored` runs once its tags are back. */
export function RestoreButton({ ns, id, image, onRestored, onError }: { ns: string; id: string; image: string; onRestored: (e: TrashEntry) => void; onError: (err: unknown) => void }) {
  const [busy, setBusy] = useState(false);
  const go = async () => {
    setBusy(true);
    try {
      onRestored(await restoreImage(ns, id));
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  };
  return <button type="button" className="btn btn-small" onClick={() => void go()} disabled={busy} aria-label={`Restore ${image}`}>{busy ? 'Restoring…' : 'Restore'}</button>;
}

/**
 * Removed images (of an account, or of one application when `app` is set): what, why, when, until when they can be
 * restored, and Restore for developers. Restored and purged entries are shown on request.
 */
export function TrashList({ ns, entries, canRestore, onRestored, showApp }: { ns: string; entries: TrashEntry[]; canRestore: boolean; onRestored: () => void; showApp?: boolean }) {
  const [all, setAll] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string | null>(null);
  const rows = entries.filter((e) => all || e.state === 'removed');
  const history = entries.length - entries.filter((e) => e.state === 'removed').length;
  return (
    <div className="trash">
      {error !== undefined && <ErrorBox error={error} title="Restore failed" />}
      {done && <Notice>Restored {done}: its tag is back and it can be pulled again.</Notice>}
      {rows.length === 0 ? (
        <Empty title="The trash is empty"><p>Images removed by retention (or by fsck) stay here, restorable, until their grace period ends.</p></Empty>
      ) : (
        <div className="tablewrap">
          <table className="table" aria-label="Removed images">
            <thead>
              <tr><th scope="col">Image</th>{showApp && <th scope="col">Application</th>}<th scope="col">Removed</th><th scope="col">Restorable until</th><th scope="col">Size</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id} data-trash={e.id} data-digest={e.digest} data-state={e.state}>
                  <td data-label="Image">{e.images.length > 0 ? e.images.map((i) => <code key={i} className="mono break small" data-testid="trash-image">{i}</code>) : <code className="mono break small">{nameOf(e)}</code>}</td>
                  {showApp && <td data-label="Application">{e.application ?? <span className="muted">—</span>}</td>}
                  <td data-label="Removed"><RelTime iso={e.removedAt} /> <span className="small muted">{removalLabel(e.reason)}, by {e.removedBy}</span></td>
                  <td data-label="Restorable until">
                    {e.state === 'removed' ? <time dateTime={e.expiresAt} title={absolute(e.expiresAt)}>{new Date(e.expiresAt).toLocaleDateString()}</time>
                      : <StatusBadge status={e.state === 'restored' ? 'succeeded' : 'cancelled'} label={e.state === 'restored' ? 'Restored' : 'Purged'} />}
                  </td>
                  <td data-label="Size"><Bytes n={e.bytes} /></td>
                  <td className="nowrap">
                    {canRestore && e.state === 'removed' && (
                      <RestoreButton ns={ns} id={e.id} image={nameOf(e)} onError={setError} onRestored={(r) => { setError(undefined); setDone(nameOf(r)); onRestored(); }} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {history > 0 && (
        <label className="check small"><input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Show restored and purged images ({history})</label>
      )}
      {!canRestore && rows.some((e) => e.state === 'removed') && <p className="hint">Developers and owners can restore removed images.</p>}
    </div>
  );
}
