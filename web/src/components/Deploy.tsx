import { useId, useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { Build } from '../api/types';
import { Link, paths } from '../lib/router';
import { ErrorBox } from './Feedback';
import { StatusBadge } from './Status';

const OWN = '';
const OTHER = '__other';

/** Deploy: build every service at the head of its branch (or of one chosen branch). */
export function DeployControl(props: { ns: string; app: string; branches: string[]; canDeploy: boolean; hasServices: boolean; onDeployed: () => void }) {
  const id = useId();
  const [choice, setChoice] = useState(OWN);
  const [other, setOther] = useState('');
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [started, setStarted] = useState<Build[] | null>(null);

  if (!props.canDeploy) {
    return (
      <div className="deploy">
        <button type="button" className="btn btn-primary" disabled aria-describedby={`${id}-why`}>Deploy</button>
        <p className="hint" id={`${id}-why`}>Viewers can look and pull. Deploying needs the developer role; ask an owner.</p>
      </div>
    );
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const branch = choice === OTHER ? other.trim() : choice;
    setBusy(true);
    setError(undefined);
    setStarted(null);
    try {
      const r = await call(api.POST('/api/v1/accounts/{namespace}/apps/{app}/deploy', {
        params: { path: { namespace: props.ns, app: props.app } },
        body: { ...(branch ? { branch } : {}), ...(force ? { force: true } : {}) },
      }));
      setStarted(r.builds);
      props.onDeployed();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="deploy">
      <form className="deploy-form" onSubmit={submit} aria-label="Deploy">
        <div className="field field-inline">
          <label htmlFor={`${id}-branch`}>Branch</label>
          <select id={`${id}-branch`} value={choice} onChange={(e) => setChoice(e.target.value)}>
            <option value={OWN}>Each service's branch{props.branches.length === 1 ? ` (${props.branches[0]})` : ''}</option>
            {props.branches.map((b) => <option key={b} value={b}>{b}</option>)}
            <option value={OTHER}>Another branch…</option>
          </select>
        </div>
        {choice === OTHER && (
          <div className="field field-inline">
            <label htmlFor={`${id}-other`}>Branch name</label>
            <input id={`${id}-other`} required value={other} onChange={(e) => setOther(e.target.value)} placeholder="feature/x" />
          </div>
        )}
        <label className="check">
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} /> Rebuild commits already built
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy || !props.hasServices}>{busy ? 'Deploying…' : 'Deploy'}</button>
      </form>
      {!props.hasServices && <p className="hint">Add a service first; then Deploy builds it.</p>}
      {error !== undefined && <ErrorBox error={error} title="Deploy failed" />}
      {started && (
        <div className="notice notice-ok deploy-started" role="status">
          <strong>Deployment started.</strong>
          <ul>
            {started.map((b) => (
              <li key={b.id}>
                {b.serviceName ?? 'service'} <StatusBadge status={b.status} /> <Link to={paths.build(props.ns, props.app, b.id)}>View log</Link>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
