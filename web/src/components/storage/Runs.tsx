import type { LifecycleRun } from '../../api/types';
import { runBytesFreed, runOutcome } from '../../lib/lifecycle';
import { Link, paths } from '../../lib/router';
import { duration, span } from '../../lib/time';
import { Empty } from '../Feedback';
import { StatusBadge } from '../Status';
import { RelTime } from '../Time';
import { Bytes } from './Bytes';

const KIND: Record<string, string> = { gc: 'Garbage collection', fsck: 'fsck', retention: 'Retention' };

/** "Garbage collection (dry run)", "fsck with repair", "Retention of acme/shop", … */
export function runTitle(r: Pick<LifecycleRun, 'kind' | 'dryRun'> & { options?: Record<string, unknown> }): string {
  if (r.kind === 'fsck') return r.dryRun ? 'fsck (check only)' : 'fsck with repair';
  const scope = [r.options?.account, r.options?.application].filter((v) => typeof v === 'string').join('/');
  return `${KIND[r.kind] ?? r.kind}${r.kind === 'retention' && scope ? ` of ${scope}` : ''}${r.dryRun ? ' (dry run)' : ''}`;
}

/** The history of garbage collections, fsck and retention runs, newest first, each linking to its report. */
export function RunsTable({ runs }: { runs: LifecycleRun[] }) {
  if (runs.length === 0) return <Empty title="No runs yet"><p>Collections run on a schedule (gcIntervalMinutes) and on demand, here or with <code>buildgrid gc</code>.</p></Empty>;
  return (
    <div className="tablewrap">
      <table className="table" aria-label="Lifecycle runs">
        <thead>
          <tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Took</th><th scope="col">Freed</th><th scope="col">Outcome</th></tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run={r.id} data-kind={r.kind} data-dry-run={r.dryRun}>
              <td data-label="Run"><Link to={paths.adminRun(r.id)}>{runTitle(r)}</Link><div className="small muted">by {r.requestedBy} via {r.trigger}</div></td>
              <td data-label="Status"><StatusBadge status={r.status} /></td>
              <td data-label="Started"><RelTime iso={r.startedAt} /></td>
              <td data-label="Took">{duration(span(r.startedAt, r.finishedAt))}</td>
              <td data-label="Freed" data-testid="run-freed">{r.kind === 'gc' && r.status === 'succeeded' ? <Bytes n={runBytesFreed(r)} /> : <span className="muted">—</span>}</td>
              <td data-label="Outcome" className="small">{runOutcome(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
