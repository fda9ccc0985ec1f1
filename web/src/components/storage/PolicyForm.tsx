import { useEffect, useState, type FormEvent } from 'react';
import type { PolicyReply } from '../../api/types';
import { clearPolicy, setPolicy, type Scope } from '../../api/lifecycle';
import { policySummary } from '../../lib/lifecycle';
import { Link, paths } from '../../lib/router';
import { ConfirmButton } from '../Dialog';
import { ErrorBox, Notice } from '../Feedback';
import { Field } from '../Form';

type Draft = { last: string; days: string; pulled: string; grace: string; enabled: boolean };

const draftOf = (r: PolicyReply): Draft => {
  const p = r.policy ?? r.effective;
  const s = (n: number | null | undefined, d = '') => (n === null || n === undefined ? d : String(n));
  return { last: s(p?.keepLastPerBranch), days: s(p?.keepNewerThanDays), pulled: s(p?.keepPulledWithinDays, '30'), grace: s(p?.graceDays, '7'), enabled: p?.enabled ?? true };
};
const numOrNull = (v: string) => (v.trim() === '' ? null : Number(v));

/** Which policy is in force at the scope, in words. */
export function PolicyInForce({ scope, reply }: { scope: Scope; reply: PolicyReply }) {
  const e = reply.effective;
  if (!e) {
    return (
      <p className="policy-state" data-testid="policy-in-force" data-source="none">
        <strong>No retention policy:</strong> nothing is removed{scope.app ? ' from this application' : ''}.
        {scope.app && <> Set one below, or an <Link to={paths.storage(scope.ns)}>account default</Link>.</>}
      </p>
    );
  }
  const whose = e.source === 'application' ? 'this application\'s own policy' : scope.app ? 'the account default' : 'the account default, for applications without their own';
  return (
    <div className="policy-state" data-testid="policy-in-force" data-source={e.source}>
      <p>
        <strong>In force: {whose}</strong>
        {e.source === 'account' && scope.app && <> (<Link to={paths.storage(scope.ns)}>change it</Link>)</>}
        {!e.enabled && <> — <strong>disabled</strong>: nothing is removed until it is enabled</>}
      </p>
      <p className="muted small">{policySummary(e)} Set by {e.updatedBy}.</p>
    </div>
  );
}

/**
 * The retention policy of an application or the account default: what is in force, and for owners a form to set or
 * remove it. `onChanged` runs after a save or removal (reload the policy).
 */
export function PolicyForm({ scope, reply, canEdit, onChanged }: { scope: Scope; reply: PolicyReply; canEdit: boolean; onChanged: () => void }) {
  const [d, setD] = useState<Draft>(() => draftOf(reply));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setD(draftOf(reply)), [reply]);
  const put = (k: keyof Draft) => (e: { target: { value: string; checked: boolean } }) => {
    setD({ ...d, [k]: k === 'enabled' ? e.target.checked : e.target.value });
    setSaved(null);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    if (d.last.trim() === '' && d.days.trim() === '') {
      return setError(new Error('Set "Keep the last images of each branch" or "Keep images built within" (or both): a policy with neither would remove every image that is not deployed or recently pulled.'));
    }
    setBusy(true);
    try {
      await setPolicy(scope, { keepLastPerBranch: numOrNull(d.last), keepNewerThanDays: numOrNull(d.days), keepPulledWithinDays: Number(d.pulled || 0), graceDays: Number(d.grace || 0), enabled: d.enabled });
      setSaved('Policy saved. It applies at the next run: press Dry run to see what it would remove.');
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const clear = async () => {
    setError(undefined);
    try {
      await clearPolicy(scope);
      setSaved(scope.app ? 'Policy removed: the application follows the account default.' : 'Account default removed.');
      onChanged();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div className="policy">
      <PolicyInForce scope={scope} reply={reply} />
      {!canEdit && <p className="muted small">Owners of the account set retention policies.</p>}
      {canEdit && (
        <form className="form subcard" onSubmit={submit} aria-label={scope.app ? 'Retention policy of this application' : 'Account default retention policy'}>
          <h3>{scope.app ? (reply.policy ? 'This application\'s policy' : 'Set a policy for this application') : (reply.policy ? 'Account default' : 'Set an account default')}</h3>
          <div className="grid2">
            <Field label="Keep the last images of each branch" hint="The newest N images of every branch. Leave empty for no limit by count.">
              <input type="number" min={1} step={1} value={d.last} onChange={put('last')} placeholder="e.g. 10" />
            </Field>
            <Field label="Keep images built within (days)" hint="Leave empty for no limit by age.">
              <input type="number" min={0.01} step="any" value={d.days} onChange={put('days')} placeholder="e.g. 14" />
            </Field>
            <Field label="Keep images pulled within (days)" hint="Images someone still pulls are kept. 0 turns this off.">
              <input type="number" min={0} step="any" required value={d.pulled} onChange={put('pulled')} />
            </Field>
            <Field label="Grace period (days)" hint="Removed images stay restorable this long before their storage is freed.">
              <input type="number" min={0} step="any" required value={d.grace} onChange={put('grace')} />
            </Field>
          </div>
          <label className="check"><input type="checkbox" checked={d.enabled} onChange={put('enabled')} /> Policy enabled</label>
          <p className="hint">Deployed images (current and previous deployment) are always kept.</p>
          {error !== undefined && <ErrorBox error={error} title="The policy was not saved" />}
          {saved && <Notice>{saved}</Notice>}
          <div className="actions actions-start">
            <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Saving…' : 'Save policy'}</button>
            {reply.policy && (
              <ConfirmButton label="Remove policy" title="Remove this retention policy?" confirmLabel="Remove policy" danger onConfirm={clear}>
                <p>{scope.app ? 'The application then follows the account default (or, without one, nothing is removed).' : 'Applications without their own policy then keep every image.'} Images already removed stay in the trash.</p>
              </ConfirmButton>
            )}
          </div>
        </form>
      )}
    </div>
  );
}
