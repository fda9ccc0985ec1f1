import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import { useSession } from '../lib/session';
import { useLoad } from '../lib/useLoad';
import { Link, navigate, paths } from '../lib/router';
import { Empty, ErrorBox, Loading } from '../components/Feedback';
import { Field } from '../components/Form';
import { StatusBadge } from '../components/Status';
import { RelTime } from '../components/Time';

/** The account's applications with their last deployment; create one. */
export function AppsPage({ ns }: { ns: string }) {
  const s = useSession();
  const account = s.accounts.find((a) => a.namespace === ns) ?? null;
  const apps = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/apps', { params: { path: { namespace: ns } } })), ns);
  const canCreate = s.can(account, 'developer');
  const [creating, setCreating] = useState(false);

  return (
    <section>
      <div className="pagehead">
        <div>
          <p className="crumbs">{account?.name ?? ns}</p>
          <h1>Applications</h1>
        </div>
        {canCreate && !creating && <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>New application</button>}
      </div>
      {creating && <CreateApp ns={ns} onCancel={() => setCreating(false)} />}
      {apps.error !== undefined && <ErrorBox error={apps.error} retry={apps.reload} />}
      {apps.loading && <Loading what="applications" />}
      {apps.data && apps.data.length === 0 && !creating && (
        <Empty
          title="No applications yet"
          action={canCreate ? <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>Create your first application</button> : undefined}
        >
          {canCreate
            ? <p>An application groups the services (git repositories with a Dockerfile) that you build and deploy together. Create one, add a service, then press Deploy.</p>
            : <p>Nothing has been set up in {ns} yet. A developer or owner of this account can create applications.</p>}
        </Empty>
      )}
      {apps.data && apps.data.length > 0 && (
        <ul className="list" aria-label="Applications">
          {apps.data.map((a) => (
            <li key={a.id} className="list-row">
              <div className="list-main">
                <Link to={paths.app(ns, a.slug)} className="list-title">{a.name}</Link>
                <span className="muted mono">{ns}/{a.slug}.*</span>
              </div>
              <div className="list-side">
                {a.lastDeployment ? (
                  <>
                    <StatusBadge status={a.lastDeployment.status} />
                    <span className="muted">last deployment <RelTime iso={a.lastDeployment.createdAt} /></span>
                  </>
                ) : (
                  <span className="muted">never deployed</span>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function CreateApp({ ns, onCancel }: { ns: string; onCancel: () => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const a = await call(api.POST('/api/v1/accounts/{namespace}/apps', { params: { path: { namespace: ns } }, body: { name: name.trim() } }));
      navigate(paths.newService(ns, a.slug));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <form className="card form" onSubmit={submit} aria-label="New application">
      <h2>New application</h2>
      {error !== undefined && <ErrorBox error={error} />}
      <Field label="Application name" hint={`Images will be named ${ns}/<application>.<repository>:<commit>.`}>
        <input required maxLength={63} autoFocus value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <div className="actions">
        <button type="button" className="btn" onClick={onCancel}>Cancel</button>
        <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Creating…' : 'Create application'}</button>
      </div>
    </form>
  );
}
