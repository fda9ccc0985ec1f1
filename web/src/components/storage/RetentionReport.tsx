import type { AppRetentionReport, ImageDecision, RetentionReport } from '../../api/types';
import { imageName } from '../../lib/lifecycle';
import { Notice } from '../Feedback';
import { RelTime } from '../Time';
import { Bytes } from './Bytes';

const newestFirst = (a: ImageDecision, b: ImageDecision) => b.producedAt.localeCompare(a.producedAt);
const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;

/**
 * A retention report (dry run or real): the total, then per application exactly the images that go (or went) with
 * their branch, age and the bytes their removal frees, and the images kept with the reasons.
 */
export function RetentionReportView({ report, showApp }: { report: RetentionReport; showApp?: boolean }) {
  const t = report.totals;
  return (
    <div className="report" data-testid="retention-report" data-dry-run={report.dryRun}>
      <p className="report-total" role="status">
        {report.dryRun ? 'Dry run: ' : ''}
        <strong>{report.dryRun ? 'would remove' : 'removed'} {plural(t.removed, 'image')}</strong>
        {', freeing '}<strong><Bytes n={t.bytesFreed} testId="bytes-freed" /></strong>
        <span className="muted"> ({t.bytesFreed.toLocaleString('en')} bytes{report.dryRun ? '' : ', once the grace window ends and garbage is collected'})</span>
        {'. '}{plural(t.kept, 'image')} kept.
      </p>
      {t.skipped > 0 && <Notice tone="warn">{plural(t.skipped, 'image')} changed while the run went on (pushed again, deployed or being built) and {t.skipped === 1 ? 'was' : 'were'} skipped; the next run tries again.</Notice>}
      {report.applications.map((a) => <AppReport key={a.applicationId} a={a} showApp={showApp ?? report.applications.length > 1} dryRun={report.dryRun} />)}
    </div>
  );
}

function AppReport({ a, showApp, dryRun }: { a: AppRetentionReport; showApp: boolean; dryRun: boolean }) {
  const going = a.decisions.filter((d) => d.status !== 'kept').sort(newestFirst);
  const kept = a.decisions.filter((d) => d.status === 'kept').sort(newestFirst);
  return (
    <section className="report-app" data-app={a.application}>
      {showApp && <h4>{a.application} <span className="muted small">· {plural(a.images, 'image')}</span></h4>}
      {!a.policy && <p className="muted small">No retention policy: nothing is removed.</p>}
      {a.policy && !a.policy.enabled && <p className="muted small">The policy is disabled: nothing is removed.</p>}
      {going.length > 0 ? (
        <div className="tablewrap">
          <table className="table" aria-label={`${dryRun ? 'Images that would be removed' : 'Images removed'}${showApp ? ` from ${a.application}` : ''}`}>
            <thead><tr><th scope="col">Image</th><th scope="col">Branch</th><th scope="col">Built</th><th scope="col">Last pulled</th><th scope="col">Frees</th></tr></thead>
            <tbody>
              {going.map((d) => (
                <tr key={`${d.repository}@${d.digest}`} data-digest={d.digest} data-status={d.status}>
                  <td data-label="Image"><code className="mono break small" data-testid="report-image">{imageName(d)}</code>
                    {d.status === 'skipped' && <div className="small muted">skipped: {d.skippedReason}</div>}
                    {d.cascade.length > 0 && <div className="small muted">with {plural(d.cascade.length, 'untagged manifest')}</div>}
                  </td>
                  <td data-label="Branch" className="mono">{d.branch ?? <span className="muted">untracked</span>}</td>
                  <td data-label="Built"><RelTime iso={d.producedAt} /></td>
                  <td data-label="Last pulled">{d.lastPulledAt ? <RelTime iso={d.lastPulledAt} /> : <span className="muted">never</span>}</td>
                  <td data-label="Frees"><Bytes n={d.bytes} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : a.policy?.enabled ? <p className="muted small">Nothing {dryRun ? 'would be' : 'was'} removed{showApp ? ` from ${a.application}` : ''}: the policy keeps every image.</p> : null}
      {kept.length > 0 && (
        <details className="report-kept">
          <summary>Kept: {plural(kept.length, 'image')}, and why</summary>
          <div className="tablewrap">
            <table className="table" aria-label={`Images kept${showApp ? ` in ${a.application}` : ''}`}>
              <thead><tr><th scope="col">Image</th><th scope="col">Branch</th><th scope="col">Built</th><th scope="col">Kept because</th></tr></thead>
              <tbody>
                {kept.map((d) => (
                  <tr key={`${d.repository}@${d.digest}`} data-digest={d.digest} data-status="kept">
                    <td data-label="Image"><code className="mono break small">{imageName(d)}</code></td>
                    <td data-label="Branch" className="mono">{d.branch ?? <span className="muted">untracked</span>}</td>
                    <td data-label="Built"><RelTime iso={d.producedAt} /></td>
                    <td data-label="Kept because" data-testid="kept-reasons">{d.reasons.join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      )}
    </section>
  );
}
