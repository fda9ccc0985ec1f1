import { useState } from 'react';
import type { RetentionReport } from '../../api/types';
import { runRetention, type Scope } from '../../api/lifecycle';
import { bytes } from '../../lib/time';
import { ConfirmButton } from '../Dialog';
import { ErrorBox } from '../Feedback';
import { RetentionReportView } from './RetentionReport';

/**
 * Dry run (developers) and Apply now (owners, after a confirmation) of retention at an application or a whole
 * account, with the report of the last one. `onApplied` runs after a real run (reload trash, usage, timeline).
 */
export function RetentionRun({ scope, canDryRun, canApply, onApplied }: { scope: Scope; canDryRun: boolean; canApply: boolean; onApplied: () => void }) {
  const [report, setReport] = useState<RetentionReport | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<'dry' | 'real' | null>(null);
  if (!canDryRun) return <p className="muted small">Developers and owners can see what the policy would remove (dry run).</p>;

  const run = async (dryRun: boolean) => {
    setBusy(dryRun ? 'dry' : 'real');
    setError(undefined);
    try {
      const r = await runRetention(scope, dryRun);
      setReport(r);
      if (!dryRun) onApplied();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  const where = scope.app ? 'this application' : `every application of ${scope.ns}`;
  const lastDry = report?.dryRun ? report : null;

  return (
    <div className="retention-run">
      <div className="actions actions-start">
        <button type="button" className="btn" onClick={() => void run(true)} disabled={busy !== null}>{busy === 'dry' ? 'Checking…' : 'Dry run'}</button>
        {canApply && (
          <ConfirmButton label={busy === 'real' ? 'Applying…' : 'Apply now'} title="Apply retention now?" confirmLabel="Remove images" danger disabled={busy !== null} onConfirm={() => run(false)}>
            <p>Removes every image of {where} that the policy does not keep.{lastDry ? ` The last dry run found ${lastDry.totals.removed} (${bytes(lastDry.totals.bytesFreed)}).` : ' Press Dry run first to see which.'}</p>
            <p>Removed images stay restorable from the trash for the policy's grace period; then their storage is freed.</p>
          </ConfirmButton>
        )}
        {!canApply && <span className="hint">Owners apply retention (or the scheduled pass does).</span>}
      </div>
      {error !== undefined && <ErrorBox error={error} title="Retention did not run" />}
      {report && <RetentionReportView report={report} showApp={!scope.app} />}
    </div>
  );
}
