import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { CreatedPullToken, PullToken } from '../api/types';
import { useLoad } from '../lib/useLoad';
import { useCredentials } from '../lib/credentials';
import { CodeBlock, CopyField } from './Copy';
import { ConfirmButton } from './Dialog';
import { Empty, ErrorBox, Loading } from './Feedback';
import { Field } from './Form';
import { StatusBadge } from './Status';
import { RelTime } from './Time';

/** Pull tokens of an account: create (shown once), list, revoke. */
export function PullTokensPanel({ ns, canManage }: { ns: string; canManage: boolean }) {
  const tokens = useLoad(() => (canManage ? call(api.GET('/api/v1/accounts/{namespace}/tokens', { params: { path: { namespace: ns } } })) : Promise.resolve([])), ns);
  const [created, setCreated] = useState<CreatedPullToken | null>(null);
  const [error, setError] = useState<unknown>();

  const revoke = async (t: PullToken) => {
    setError(undefined);
    try {
      await call(api.DELETE('/api/v1/accounts/{namespace}/tokens/{id}', { params: { path: { namespace: ns, id: t.id } } }));
      await tokens.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="card block" aria-labelledby="tokens-h">
      <h2 id="tokens-h">Pull tokens for {ns}</h2>
      <p className="muted">Named, revocable, pull-only credentials for machines: CI jobs and Kubernetes clusters. Optionally limited to some repositories and with an expiry.</p>
      {!canManage && <p>Pull tokens are managed by developers and owners of {ns}. Ask one of them for a token.</p>}
      {canManage && (
        <>
          {created && <CreatedToken t={created} onDone={() => setCreated(null)} />}
          {!created && <CreateToken ns={ns} onCreated={(t) => { setCreated(t); void tokens.reload(); }} />}
          {error !== undefined && <ErrorBox error={error} />}
          {tokens.loading && <Loading what="pull tokens" />}
          {tokens.error !== undefined && <ErrorBox error={tokens.error} retry={tokens.reload} />}
          {tokens.data && tokens.data.length === 0 && <Empty title="No pull tokens yet"><p>Create one above for each machine or cluster that pulls, so you can revoke them one by one.</p></Empty>}
          {tokens.data && tokens.data.length > 0 && (
            <div className="tablewrap">
              <table className="table" aria-label="Pull tokens">
                <thead><tr><th scope="col">Name</th><th scope="col">Username</th><th scope="col">Repositories</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
                <tbody>
                  {tokens.data.map((t) => {
                    const state = t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? 'expired' : 'active';
                    return (
                      <tr key={t.id} data-token={t.name}>
                        <td data-label="Name">{t.name}</td>
                        <td data-label="Username" className="mono">{t.username}</td>
                        <td data-label="Repositories" className="mono small">{t.repositories ? t.repositories.join(', ') : <span className="muted">all of {ns}</span>}</td>
                        <td data-label="Created"><RelTime iso={t.createdAt} /></td>
                        <td data-label="Expires">{t.expiresAt ? new Date(t.expiresAt).toLocaleDateString() : 'never'}</td>
                        <td data-label="State"><StatusBadge status={state === 'active' ? 'succeeded' : 'cancelled'} label={state === 'active' ? 'Active' : state === 'revoked' ? 'Revoked' : 'Expired'} /></td>
                        <td>
                          {state === 'active' && (
                            <ConfirmButton label="Revoke" ariaLabel={`Revoke ${t.name}`} title={`Revoke ${t.name}?`} confirmLabel="Revoke token" danger small onConfirm={() => revoke(t)}>
                              <p>Machines using <code>{t.username}</code> can no longer pull, starting now. This cannot be undone.</p>
                            </ConfirmButton>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}

const EXPIRY = [{ v: '', l: 'Never' }, { v: '7', l: '7 days' }, { v: '30', l: '30 days' }, { v: '90', l: '90 days' }, { v: '365', l: '1 year' }];

function CreateToken({ ns, onCreated }: { ns: string; onCreated: (t: CreatedPullToken) => void }) {
  const repos = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/repositories', { params: { path: { namespace: ns } } })), ns);
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const t = await call(api.POST('/api/v1/accounts/{namespace}/tokens', {
        params: { path: { namespace: ns } },
        body: { name: name.trim(), ...(days ? { expiresInDays: Number(days) } : {}), ...(chosen.length ? { repositories: chosen } : {}) },
      }));
      setName('');
      setChosen([]);
      onCreated(t);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="form subcard" onSubmit={submit} aria-label="Create a pull token">
      <h3>Create a pull token</h3>
      {error !== undefined && <ErrorBox error={error} />}
      <div className="grid2">
        <Field label="Name" hint={`The username becomes ${ns}+<name>.`}>
          <input required maxLength={64} value={name} onChange={(e) => setName(e.target.value)} placeholder="k8s-prod" />
        </Field>
        <Field label="Expires">
          <select value={days} onChange={(e) => setDays(e.target.value)}>{EXPIRY.map((x) => <option key={x.v} value={x.v}>{x.l}</option>)}</select>
        </Field>
      </div>
      <fieldset className="fieldset">
        <legend>Repositories</legend>
        {repos.data && repos.data.length > 0 ? (
          <>
            <p className="hint">Leave all unticked for every repository of {ns}, now and later.</p>
            <div className="checks">
              {repos.data.map((r) => (
                <label key={r.name} className="check mono small">
                  <input type="checkbox" checked={chosen.includes(r.name)} onChange={(e) => setChosen(e.target.checked ? [...chosen, r.name] : chosen.filter((x) => x !== r.name))} />
                  {r.name}
                </label>
              ))}
            </div>
          </>
        ) : <p className="hint">{repos.loading ? 'Loading repositories…' : `The token can pull every repository of ${ns}.`}</p>}
      </fieldset>
      <div className="actions actions-start"><button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Creating…' : 'Create token'}</button></div>
    </form>
  );
}

function CreatedToken({ t, onDone }: { t: CreatedPullToken; onDone: () => void }) {
  const host = useCredentials()?.registry ?? window.location.host;
  return (
    <div className="subcard created" role="status">
      <h3>Token {t.name} created</h3>
      <p><strong>Copy the password now: it is shown only once.</strong></p>
      <div className="copyfields">
        <CopyField label="Username" value={t.username} />
        <CopyField label="Password" value={t.password} testId="token-password" />
      </div>
      <CodeBlock label="Kubernetes pull secret" code={`kubectl create secret docker-registry buildgrid-pull \\\n  --docker-server=${host} \\\n  --docker-username='${t.username}' \\\n  --docker-password='${t.password}'`} />
      <div className="actions actions-start"><button type="button" className="btn" onClick={onDone}>I have saved it</button></div>
    </div>
  );
}
