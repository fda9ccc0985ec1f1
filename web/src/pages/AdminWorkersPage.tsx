import { useState, type FormEvent } from 'react';
import { createWorkerToken, listWorkerTokens, revokeWorkerToken, type CreatedWorkerToken, type WorkerToken } from '../api/workers';
import { useSession } from '../lib/session';
import { useLoad } from '../lib/useLoad';
import { useAction } from '../lib/useAction';
import { AdminNav } from '../components/SubNav';
import { CodeBlock, CopyField } from '../components/Copy';
import { ConfirmButton } from '../components/Dialog';
import { Empty, ErrorBox, Loading } from '../components/Feedback';
import { Field } from '../components/Form';
import { PageHead } from '../components/PageHead';
import { StatusBadge } from '../components/Status';
import { RelTime } from '../components/Time';

/**
 * Administrators: worker tokens, the credentials of remote build workers. Create one (the token is shown once, with
 * the `buildgrid worker` command that uses it), list them with their last use, revoke after a confirmation.
 */
export function AdminWorkersPage() {
  const s = useSession();
  const tokens = useLoad(() => (s.me.isAdmin ? listWorkerTokens() : Promise.resolve([])), 'worker-tokens');
  const [created, setCreated] = useState<CreatedWorkerToken | null>(null);
  const revoking = useAction();

  if (!s.me.isAdmin) {
    return <section><h1>Build workers</h1><ErrorBox error={new Error('Only BuildGrid administrators can see and create worker tokens.')} title="Not allowed" /></section>;
  }
  const revoke = async (t: WorkerToken) => {
    await revoking.run(() => revokeWorkerToken(t.id));
    await tokens.reload();
  };

  return (
    <section>
      <PageHead crumbs="Administration" title="Build workers" />
      <AdminNav />
      <section className="card block" aria-labelledby="workers-h">
        <h2 id="workers-h">Worker tokens</h2>
        <p className="muted">
          A remote worker on any host with git and buildah claims builds from this server, builds them there and sends the log and image back.
          Its token lets it do that and nothing else: not the user API, not the registry. Set <code>buildConcurrency: 0</code> on the server to leave all building to workers.
        </p>
        {created ? <CreatedToken c={created} onDone={() => setCreated(null)} /> : <CreateToken onCreated={(c) => { setCreated(c); void tokens.reload(); }} />}
        {revoking.error !== undefined && <ErrorBox error={revoking.error} title="The token was not revoked" />}
        {tokens.loading && <Loading what="worker tokens" />}
        {tokens.error !== undefined && <ErrorBox error={tokens.error} retry={tokens.reload} />}
        {tokens.data && <TokensTable tokens={tokens.data} onRevoke={revoke} />}
      </section>
    </section>
  );
}

function TokensTable({ tokens, onRevoke }: { tokens: WorkerToken[]; onRevoke: (t: WorkerToken) => Promise<void> }) {
  if (tokens.length === 0) return <Empty title="No worker tokens yet"><p>Create one per build host, so each can be revoked on its own.</p></Empty>;
  return (
    <div className="tablewrap">
      <table className="table" aria-label="Worker tokens">
        <thead><tr><th scope="col">Name</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {tokens.map((t) => (
            <tr key={t.id} data-token={t.name} data-id={t.id} data-state={t.revokedAt ? 'revoked' : 'active'}>
              <td data-label="Name">{t.name} <span className="muted small mono">{t.id.slice(0, 8)}</span></td>
              <td data-label="Created"><RelTime iso={t.createdAt} /> <span className="muted small">by {t.createdBy}</span></td>
              <td data-label="Last used" data-testid="last-used">{t.lastUsedAt ? <RelTime iso={t.lastUsedAt} /> : <span className="muted">never</span>}</td>
              <td data-label="State">
                {t.revokedAt ? <><StatusBadge status="cancelled" label="Revoked" /> <RelTime iso={t.revokedAt} /></> : <StatusBadge status="succeeded" label="Active" />}
              </td>
              <td>
                {!t.revokedAt && (
                  <ConfirmButton label="Revoke" ariaLabel={`Revoke ${t.name}`} title={`Revoke worker token ${t.name}?`} confirmLabel="Revoke token" danger small onConfirm={() => onRevoke(t)}>
                    <p>Workers using <strong>{t.name}</strong> are refused from their next request. A build one of them is running stops heartbeating and is requeued for another worker. This cannot be undone.</p>
                  </ConfirmButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CreateToken({ onCreated }: { onCreated: (c: CreatedWorkerToken) => void }) {
  const [name, setName] = useState('');
  const { busy, error, run } = useAction();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    await run(async () => {
      const c = await createWorkerToken(name.trim());
      setName('');
      onCreated(c);
    });
  };
  return (
    <form className="form subcard" onSubmit={submit} aria-label="Create a worker token">
      <h3>Create a worker token</h3>
      {error !== undefined && <ErrorBox error={error} title="The token was not created" />}
      <Field label="Token name" hint="Usually the build host's name; it appears in this list and the server log.">
        <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="build-host-1" />
      </Field>
      <div className="actions actions-start"><button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Creating…' : 'Create token'}</button></div>
    </form>
  );
}

function CreatedToken({ c, onDone }: { c: CreatedWorkerToken; onDone: () => void }) {
  const command = `BUILDGRID_WORKER_TOKEN=${c.token} buildgrid worker --server ${window.location.origin}`;
  return (
    <div className="subcard created" role="status" aria-label="Worker token created">
      <h3>Worker token {c.workerToken.name} created</h3>
      <p><strong>Copy the token now: it is shown only once.</strong></p>
      <div className="copyfields">
        <CopyField label="Worker token" value={c.token} testId="worker-token" />
      </div>
      <CodeBlock label="Run on the build host" code={command} />
      <p className="hint">Add <code>--concurrency N</code> for parallel builds and <code>--work-dir DIR</code> for where it builds; <code>BUILDGRID_WORKER_TOKEN</code> may carry the token instead of the command line.</p>
      <div className="actions actions-start"><button type="button" className="btn" onClick={onDone}>I have saved it</button></div>
    </div>
  );
}
