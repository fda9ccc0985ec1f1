import { useEffect } from 'react';
import type { RetentionReport } from '../api/types';
import { getRun } from '../api/lifecycle';
import { runBytesFreed, runOutcome } from '../lib/lifecycle';
import { Link, paths } from '../lib/router';
import { useSession } from '../lib/session';
import { absolute, duration, span } from '../lib/time';
import { useLoad } from '../lib/useLoad';
import { Empty, ErrorBox, Loading } from '../components/Feedback';
import { PageHead } from '../components/PageHead';
import { StatusBadge } from '../components/Status';
import { Bytes } from '../components/storage/Bytes';
import { RetentionReportView } from '../components/storage/RetentionReport';
import { runTitle } from '../components/storage/Runs';

/** The parts of a run's report this page shows (src/lifecycle/gc.ts GcReport, fsck.ts FsckReport). */
interface GcPart {
  trashPurged: number; uploadsExpired: number;
  blobs: { scanned: number; live: number; young: number; deleted: number; bytesFreed: number; bytesBefore: number; bytesAfter: number; list: Array<{ digest: string; size: number }>; listTruncated: boolean };
  links: { deleted: number };
}
interface FsckPart {
  healthy: boolean; checked: { blobs: number; bytes: number; manifests: number; links: number; trashEntries: number };
  problems: Array<{ kind: string; repository?: string; digest?: string; tag?: string; detail: string; repaired?: string }>;
}
type Report = { retention?: RetentionReport | null; gc?: GcPart; fsck?: FsckPart } | null;

/** Administrators: one garbage collection, fsck or retention run, with its full report; followed while it runs. */
export function AdminRunPage({ id }: { id: string }) {
  const s = useSession();
  const run = useLoad(() => getRun(id), id);
  const running = run.data?.status === 'running';
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => void run.reload(), 1000);
    return () => clearInterval(t);
  }, [running, run.reload]);

  if (!s.me.isAdmin) return <section><h1>Run {id}</h1><ErrorBox error={new Error('Only BuildGrid administrators see lifecycle runs.')} title="Not allowed" /></section>;
  if (run.loading) return <Loading what="the run" />;
  if (!run.data) return <ErrorBox error={run.error} retry={run.reload} title="Cannot load this run" />;
  const r = run.data;
  const report = r.report as Report;

  return (
    <section>
      <PageHead crumbs={<><Link to={paths.adminStorage()}>Storage administration</Link> / Run</>} title={runTitle(r)}>
        <StatusBadge status={r.status} />
      </PageHead>
      <section className="card block" aria-labelledby="run-h">
        <h2 id="run-h">Summary</h2>
        <dl className="facts facts-grid">
          <div><dt>Outcome</dt><dd data-testid="run-outcome">{runOutcome(r)}</dd></div>
          {r.kind === 'gc' && <div><dt>{r.dryRun ? 'Would free' : 'Freed'}</dt><dd data-testid="run-freed"><Bytes n={runBytesFreed(r)} /></dd></div>}
          <div><dt>Requested</dt><dd>by {r.requestedBy} via {r.trigger}</dd></div>
          <div><dt>Started</dt><dd>{absolute(r.startedAt)}</dd></div>
          <div><dt>Took</dt><dd>{duration(span(r.startedAt, r.finishedAt))}{running ? ' so far' : ''}</dd></div>
          <div><dt>Run ID</dt><dd className="mono small">{r.id}</dd></div>
        </dl>
        {r.error && <ErrorBox error={new Error(r.error)} title="The run failed" />}
      </section>
      {report?.gc && <GcSection gc={report.gc} dryRun={r.dryRun} />}
      {report?.retention && (
        <section className="card block" aria-labelledby="ret-h">
          <h2 id="ret-h">Retention</h2>
          <RetentionReportView report={report.retention} showApp />
        </section>
      )}
      {report?.fsck && <FsckSection fsck={report.fsck} />}
    </section>
  );
}

function GcSection({ gc, dryRun }: { gc: GcPart; dryRun: boolean }) {
  const b = gc.blobs;
  return (
    <section className="card block" aria-labelledby="gc-h">
      <h2 id="gc-h">Collection</h2>
      <dl className="facts facts-grid">
        <div><dt>Before</dt><dd><Bytes n={b.bytesBefore} /></dd></div>
        <div><dt>After</dt><dd><Bytes n={b.bytesAfter} /></dd></div>
        <div><dt>Blobs scanned</dt><dd>{b.scanned} ({b.live} in use, {b.young} too young to collect)</dd></div>
        <div><dt>{dryRun ? 'Would delete' : 'Deleted'}</dt><dd>{b.deleted} blobs, {gc.links.deleted} links</dd></div>
        <div><dt>Trash purged</dt><dd>{gc.trashPurged} images past their grace period</dd></div>
        <div><dt>Uploads expired</dt><dd>{gc.uploadsExpired}</dd></div>
      </dl>
      {b.list.length === 0 ? <Empty title={dryRun ? 'Nothing would be collected' : 'Nothing was collected'} /> : (
        <details className="report-kept">
          <summary>{dryRun ? 'Blobs that would be deleted' : 'Blobs deleted'} ({b.list.length}{b.listTruncated ? '+' : ''})</summary>
          <ul className="bloblist">{b.list.map((x) => <li key={x.digest}><code className="mono small">{x.digest}</code> <Bytes n={x.size} /></li>)}</ul>
        </details>
      )}
    </section>
  );
}

function FsckSection({ fsck }: { fsck: FsckPart }) {
  const c = fsck.checked;
  return (
    <section className="card block" aria-labelledby="fsck-h">
      <h2 id="fsck-h">fsck</h2>
      <p>Checked {c.blobs} blobs (<Bytes n={c.bytes} />), {c.manifests} manifests, {c.links} links, {c.trashEntries} trash entries.</p>
      {fsck.problems.length === 0 ? <Empty title="The store is healthy" /> : (
        <div className="tablewrap">
          <table className="table" aria-label="Problems found">
            <thead><tr><th scope="col">Problem</th><th scope="col">Where</th><th scope="col">Detail</th><th scope="col">Repair</th></tr></thead>
            <tbody>
              {fsck.problems.map((p, i) => (
                <tr key={i}>
                  <td data-label="Problem" className="mono small">{p.kind}</td>
                  <td data-label="Where" className="mono small break">{[p.repository, p.tag].filter(Boolean).join(':')}{p.digest ? ` ${p.digest.slice(0, 19)}…` : ''}</td>
                  <td data-label="Detail">{p.detail}</td>
                  <td data-label="Repair">{p.repaired ?? <span className="muted">not repaired</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
