import { useState } from 'react';
import type { TimelineEntry } from '../../api/types';
import { removalLabel, type RemovalGroup } from '../../lib/lifecycle';
import { absolute } from '../../lib/time';
import { ErrorBox } from '../Feedback';
import { StatusBadge } from '../Status';
import { RelTime } from '../Time';
import { Bytes } from './Bytes';
import { RestoreButton } from './Trash';

type Removed = NonNullable<TimelineEntry['imageRemoved']>;
const day = (iso: string) => <time dateTime={iso} title={absolute(iso)}>{new Date(iso).toLocaleDateString()}</time>;

/** In a build's timeline entry: its image was removed (why, when, until when restorable) instead of a pull command. */
export function RemovedImageNote({ ns, removed, canRestore, onRestored }: { ns: string; removed: Removed; canRestore: boolean; onRestored: () => void }) {
  const [error, setError] = useState<unknown>();
  return (
    <div className="tl-removed" data-testid="image-removed" role="note">
      <p>
        <strong>Image {removalLabel(removed.reason)}</strong> <RelTime iso={removed.removedAt} />
        {removed.restorableUntil ? <> · restorable until {day(removed.restorableUntil)}</> : <> · purged: deploy this commit again to rebuild it</>}
      </p>
      <div className="tl-removed-image">
        {removed.image && <code className="mono break small gone">{removed.image}</code>}
        {canRestore && removed.restorableUntil && (
          <RestoreButton ns={ns} id={removed.trashId} image={removed.image ?? 'image'} onError={setError} onRestored={() => { setError(undefined); onRestored(); }} />
        )}
      </div>
      {error !== undefined && <ErrorBox error={error} title="Restore failed" />}
    </div>
  );
}

const titleOf = (g: RemovalGroup) => {
  const n = `${g.entries.length} image${g.entries.length === 1 ? '' : 's'}`;
  if (g.reason === 'retention') return `Retention removed ${n}`;
  if (g.reason === 'fsck') return `fsck removed ${n} (broken)`;
  return `${n} removed`;
};

/** A timeline entry for one retention run (or fsck repair): the images it removed and what became of each. */
export function RemovalEntry({ g }: { g: RemovalGroup }) {
  const open = g.entries.filter((e) => e.state === 'removed');
  return (
    <li className="tl tl-removal" data-kind="removal" data-reason={g.reason} data-status="removed">
      <div className="tl-head">
        <StatusBadge status="removed" label="Removed" />
        <span className="tl-kind">{g.reason === 'retention' ? 'Retention' : 'Cleanup'}</span>
        <h3 className="tl-title">{titleOf(g)}</h3>
        <span className="tl-when"><RelTime iso={g.at} /></span>
      </div>
      <p className="small tl-removal-facts">
        <Bytes n={g.bytes} /> freed once collected · by {g.removedBy}
        {open.length > 0 && <> · restorable until {day(open[0]!.expiresAt)} (see Removed images below)</>}
      </p>
      <ul className="tl-services" aria-label="Images removed">
        {g.entries.map((e) => (
          <li key={e.id} data-trash={e.id}>
            <StatusBadge status={e.state === 'restored' ? 'succeeded' : 'cancelled'} label={e.state === 'removed' ? 'In trash' : e.state === 'restored' ? 'Restored' : 'Purged'} />
            <code className="mono break small">{e.images[0] ?? `${e.repository}@${e.digest.slice(0, 19)}…`}</code>
          </li>
        ))}
      </ul>
    </li>
  );
}
