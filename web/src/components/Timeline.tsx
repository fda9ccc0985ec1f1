import { useState } from 'react';
import { api, call } from '../api/client';
import type { TimelineEntry, TrashEntry } from '../api/types';
import { groupRemovals, type RemovalGroup } from '../lib/lifecycle';
import { Link, navigate, paths } from '../lib/router';
import { isActive, triggerLabel } from '../lib/status';
import { duration, span, useNow } from '../lib/time';
import { CopyButton } from './Copy';
import { Empty, ErrorBox } from './Feedback';
import { PullRunButton } from './PullRun';
import { StatusBadge } from './Status';
import { RelTime } from './Time';
import { RemovalEntry, RemovedImageNote } from './storage/Removals';

type Item = { e: TimelineEntry; g?: undefined } | { g: RemovalGroup; e?: undefined };

/** Entries (newest first) with the removal groups placed by time among them. */
function merge(entries: TimelineEntry[], removals: TrashEntry[] | undefined): Item[] {
  const groups = groupRemovals(removals ?? []);
  const out: Item[] = [];
  let i = 0;
  for (const e of entries) {
    while (i < groups.length && groups[i]!.at >= e.startedAt) out.push({ g: groups[i++]! });
    out.push({ e });
  }
  while (i < groups.length) out.push({ g: groups[i++]! });
  return out;
}

/**
 * The Build & Deployment Timeline, newest first. `removals` (the application's trash, restored and purged entries
 * too) adds an entry per retention run; a build whose image was removed says so instead of offering to pull it.
 */
export function Timeline(props: { ns: string; app: string; entries: TimelineEntry[]; removals?: TrashEntry[]; canRebuild: boolean; onChanged: () => void }) {
  if (props.entries.length === 0) {
    return (
      <Empty title="Nothing has been built yet">
        <p>Deployments and builds appear here as they happen, with their commit, image and log. Press Deploy to start the first one.</p>
      </Empty>
    );
  }
  // Builds whose image is in the trash: a deployment's line for them offers no image to copy.
  const removedBuilds = new Set((props.removals ?? []).filter((t) => t.state !== 'restored').flatMap((t) => t.buildIds));
  return (
    <ol className="timeline" aria-label="Builds and deployments, newest first">
      {merge(props.entries, props.removals).map((x) => (x.e
        ? <Entry key={`${x.e.kind}-${x.e.id}`} {...props} e={x.e} removedBuilds={removedBuilds} />
        : <RemovalEntry key={`removal-${x.g.key}`} g={x.g} />))}
    </ol>
  );
}

function Entry({ e, ns, app, canRebuild, onChanged, removedBuilds }: { e: TimelineEntry; ns: string; app: string; canRebuild: boolean; onChanged: () => void; removedBuilds: Set<string> }) {
  const now = useNow(isActive(e.status) ? 1000 : 60_000);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const took = e.durationMs ?? (isActive(e.status) ? span(e.startedAt, null, now) : null);

  const rebuild = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const b = await call(api.POST('/api/v1/builds/{id}/rebuild', { params: { path: { id: e.id } } }));
      onChanged();
      navigate(paths.build(ns, app, b.id));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <li className={`tl tl-${e.kind}`} data-kind={e.kind} data-id={e.id} data-status={e.status}>
      <div className="tl-head">
        <StatusBadge status={e.status} />
        <span className="tl-kind">{e.kind === 'deployment' ? 'Deployment' : 'Build'}</span>
        <h3 className="tl-title">{e.title}</h3>
        <span className="tl-when"><RelTime iso={e.startedAt} /></span>
      </div>
      <dl className="tl-facts">
        {e.branch && <div><dt>Branch</dt><dd className="mono">{e.branch}</dd></div>}
        {e.commit && (
          <div className="tl-commit">
            <dt>Commit</dt>
            <dd>
              <code className="mono" title={e.commit} data-testid="commit">{e.shortCommit}</code>
              {e.commitMessage && <span className="tl-msg"> {e.commitMessage}</span>}
              {e.commitAuthor && <span className="muted"> — {e.commitAuthor.replace(/\s*<[^>]*>$/, '')}</span>}
            </dd>
          </div>
        )}
        <div><dt>Triggered</dt><dd>by {e.triggeredBy} via {triggerLabel(e.trigger)}</dd></div>
        <div><dt>Duration</dt><dd>{duration(took)}{isActive(e.status) ? ' so far' : ''}</dd></div>
      </dl>
      {e.image && <ImageFacts ns={ns} image={e.image} imageId={e.imageId} />}
      {e.imageRemoved && <RemovedImageNote ns={ns} removed={e.imageRemoved} canRestore={canRebuild} onRestored={onChanged} />}
      {e.services && e.services.length > 0 && (
        <ul className="tl-services" aria-label="Services in this deployment">
          {e.services.map((s) => (
            <li key={s.buildId}>
              <StatusBadge status={s.status} />
              <span className="tl-svc">{s.service}</span>
              <span className="mono muted">{s.branch}{s.commit ? ` @ ${s.commit.slice(0, 7)}` : ''}</span>
              {s.image && !removedBuilds.has(s.buildId) && <><code className="mono break small">{s.image}</code><CopyButton text={s.image} what="image URL" /></>}
              {s.image && removedBuilds.has(s.buildId) && <span className="small muted">image removed</span>}
              <Link to={paths.build(ns, app, s.buildId)}>View log</Link>
            </li>
          ))}
        </ul>
      )}
      {e.error && e.status !== 'succeeded' && <p className="tl-error" role="note">{e.error}</p>}
      {e.kind === 'build' && (
        <div className="tl-actions">
          <Link to={paths.build(ns, app, e.id)} className="btn btn-small">View log</Link>
          {canRebuild && !isActive(e.status) && e.commit && (
            <button type="button" className="btn btn-small btn-quiet" onClick={rebuild} disabled={busy}>{busy ? 'Queuing…' : 'Rebuild'}</button>
          )}
        </div>
      )}
      {error !== undefined && <ErrorBox error={error} title="Rebuild failed" />}
    </li>
  );
}

/** An image URL with copy and Pull & run, and its image ID. */
export function ImageFacts({ ns, image, imageId, digest }: { ns: string; image: string; imageId: string | null; digest?: string | null }) {
  return (
    <div className="imagefacts">
      <div className="imageline">
        <code className="mono break" data-testid="image">{image}</code>
        <span className="imageline-actions">
          <CopyButton text={image} what="image URL" />
          <PullRunButton image={image} digest={digest} ns={ns} />
        </span>
      </div>
      {imageId && <p className="small muted">Image ID <code className="mono" title={imageId}>{imageId.replace(/^sha256:/, '').slice(0, 12)}</code></p>}
    </div>
  );
}
