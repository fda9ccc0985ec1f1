import { useCallback, useEffect, useState } from 'react';
import { api, call, errorOf, requestHeaders } from '../api/client';
import type { Build } from '../api/types';
import { useSession } from '../lib/session';
import { useLoad } from '../lib/useLoad';
import { useBuildLog } from '../lib/useBuildLog';
import { Link, navigate, paths } from '../lib/router';
import { isActive, triggerLabel } from '../lib/status';
import { bytes, duration, span, useNow } from '../lib/time';
import { ErrorBox, Loading } from '../components/Feedback';
import { StatusBadge } from '../components/Status';
import { RelTime } from '../components/Time';
import { LogView } from '../components/LogView';
import { LiveDot } from '../components/LiveDot';
import { ImageFacts } from '../components/Timeline';
import { ConfirmButton } from '../components/Dialog';

/** One build: what was built and by whom, its image, and the log streaming live; cancel or rebuild. */
export function BuildPage({ ns, app, id }: { ns: string; app: string; id: string }) {
  const s = useSession();
  const account = s.accounts.find((a) => a.namespace === ns) ?? null;
  const canBuild = s.can(account, 'developer');
  const build = useLoad(() => call(api.GET('/api/v1/builds/{id}', { params: { path: { id } } })), id);
  const log = useBuildLog(id, useCallback(() => void build.reload(), [build.reload]));
  const [actionError, setActionError] = useState<unknown>();
  // A queued build has no log yet to say it moved: ask again every few seconds for its place in the queue.
  const queued = build.data?.status === 'queued';
  useEffect(() => {
    if (!queued) return;
    const t = setInterval(() => void build.reload(), 5000);
    return () => clearInterval(t);
  }, [queued, build.reload]);

  if (build.loading) return <Loading what="the build" />;
  if (!build.data) return <ErrorBox error={build.error} retry={build.reload} title="Cannot load this build" />;
  const b = build.data;
  const active = isActive(b.status) && !log.ended;

  const cancel = async () => {
    try {
      build.setData(await call(api.POST('/api/v1/builds/{id}/cancel', { params: { path: { id } } })));
    } catch (err) {
      setActionError(err);
    }
  };
  const rebuild = async () => {
    try {
      const nb = await call(api.POST('/api/v1/builds/{id}/rebuild', { params: { path: { id } } }));
      navigate(paths.build(ns, app, nb.id));
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <section>
      <div className="pagehead">
        <div>
          <p className="crumbs"><Link to={paths.apps(ns)}>{ns}</Link> / <Link to={paths.app(ns, app)}>{app}</Link> / builds</p>
          <h1>Build {b.serviceName ?? ''} <span className="muted mono h1-id">{b.shortCommit ?? b.id.slice(0, 8)}</span></h1>
        </div>
        <div className="actions">
          <StatusBadge status={b.status} />
          <button type="button" className="btn" onClick={() => downloadLog(b).catch(setActionError)}>Download raw log</button>
          {canBuild && active && (
            <ConfirmButton label="Cancel build" title="Cancel this build?" confirmLabel="Cancel build" danger onConfirm={cancel}>
              <p>The build stops now and no image is pushed. You can rebuild the same commit later.</p>
            </ConfirmButton>
          )}
          {canBuild && !active && b.commit && <button type="button" className="btn" onClick={() => void rebuild()}>Rebuild</button>}
        </div>
      </div>
      {actionError !== undefined && <ErrorBox error={actionError} />}
      <BuildFacts b={b} ns={ns} />
      {b.error && b.status === 'failed' && <div className="notice notice-bad" role="alert"><strong>The build failed.</strong><p>{b.error}</p></div>}
      <section aria-labelledby="log-h" className="block">
        <div className="blockhead">
          <h2 id="log-h">Log</h2>
          {active ? <LiveDot state={log.state} /> : <span className="muted small">{log.lines.length} lines</span>}
        </div>
        <LogView build={b} lines={log.lines} live={active} />
      </section>
    </section>
  );
}

function BuildFacts({ b, ns }: { b: Build; ns: string }) {
  const now = useNow(isActive(b.status) ? 1000 : 60_000);
  const queued = b.phases.find((p) => p.name === 'queued');
  return (
    <div className="card">
      <dl className="facts facts-grid">
        <div><dt>Branch</dt><dd className="mono">{b.branch}</dd></div>
        <div>
          <dt>Commit</dt>
          <dd>
            {b.commit ? <code className="mono" title={b.commit}>{b.shortCommit}</code> : <span className="muted">resolving…</span>}
            {b.commitMessage && <span> {b.commitMessage.split('\n')[0]}</span>}
            {b.commitAuthor && <span className="muted"> — {b.commitAuthor}</span>}
          </dd>
        </div>
        <div><dt>Triggered</dt><dd>by {b.triggeredBy} via {triggerLabel(b.trigger)}{b.rebuildOf ? ' (rebuild)' : ''}</dd></div>
        <div><dt>Queued</dt><dd><RelTime iso={b.createdAt} />{queued && <span className="muted"> · waited {duration(span(queued.startedAt, queued.endedAt, now))}</span>}</dd></div>
        {b.status === 'queued' && b.queue && <QueuePlace q={b.queue} />}
        <div><dt>Duration</dt><dd>{duration(b.durationMs ?? span(b.startedAt, b.finishedAt, now))}</dd></div>
        {b.imageSize !== null && <div><dt>Size</dt><dd>{bytes(b.imageSize)}{b.layerCount !== null && ` · ${b.layerCount} layers`}</dd></div>}
      </dl>
      {b.image && b.status === 'succeeded' && <ImageFacts ns={ns} image={b.image} imageId={b.imageId} digest={b.imageDigest} />}
      {b.imageDigest && <p className="small muted">Digest <code className="mono break">{b.imageDigest}</code></p>}
      {b.baseImages.length > 0 && <BaseImages bases={b.baseImages} />}
    </div>
  );
}

/** Every FROM of the build that names an image: as written, what it resolved to, and the digest used. */
function BaseImages({ bases }: { bases: Build['baseImages'] }) {
  return (
    <div data-testid="base-images">
      <h3 className="small">Base images</h3>
      <table className="small">
        <thead><tr><th>Stage</th><th>FROM</th><th>Resolved</th><th>Digest</th></tr></thead>
        <tbody>
          {bases.map((x) => (
            <tr key={`${x.stage} ${x.written}`}>
              <td>{x.stage}</td>
              <td><code className="mono">{x.written}</code></td>
              <td>{x.resolved ? <code className="mono break">{x.resolved}</code> : <span className="muted">not a valid reference</span>}</td>
              <td>{x.digest ? <code className="mono break" title={x.digest}>{x.digest.slice(0, 19)}…</code> : <span className="muted">unknown</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Where a queued build stands: its place in line (all accounts, and its own account's) and when it should start. */
function QueuePlace({ q }: { q: NonNullable<Build['queue']> }) {
  const ordinal = (n: number) => (n === 1 ? 'next' : `#${n}`);
  return (
    <div data-testid="queue-place">
      <dt>In line</dt>
      <dd>
        {ordinal(q.position)}
        <span className="muted"> · {q.accountPosition === 1 ? "your account's next build" : `#${q.accountPosition} of your account's`}</span>
        <span className="muted"> · {q.estimatedWaitSeconds === null ? 'no estimate yet (no earlier build of this service)' : q.estimatedWaitSeconds === 0 ? 'starts as soon as a worker is free' : `starts in about ${duration(q.estimatedWaitSeconds * 1000)}`}</span>
      </dd>
    </div>
  );
}

/** Saves the raw log as build-<id>.log (fetched first, so a refusal shows its message instead of a JSON file). */
async function downloadLog(b: Build): Promise<void> {
  const res = await fetch(`/api/v1/builds/${encodeURIComponent(b.id)}/log.txt`, { headers: requestHeaders('GET') });
  if (!res.ok) throw await errorOf(res);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `build-${b.id}.log`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
