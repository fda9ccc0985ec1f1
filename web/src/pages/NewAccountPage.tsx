import { useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import { useSession } from '../lib/session';
import { navigate, paths } from '../lib/router';
import { Field } from '../components/Form';
import { ErrorBox } from '../components/Feedback';

/** Create an account (a team with its own namespace); the creator becomes its owner. */
export function NewAccountPage() {
  const s = useSession();
  const [name, setName] = useState('');
  const [namespace, setNamespace] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const a = await call(api.POST('/api/v1/accounts', { body: { name: name.trim(), ...(namespace.trim() ? { namespace: namespace.trim() } : {}) } }));
      await s.refresh();
      s.choose(a.namespace);
      navigate(paths.apps(a.namespace));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <h1>New account</h1>
      {s.accounts.length === 0 && (
        <p className="lead">You are not a member of any account yet. Create one for your team, or ask an owner of an existing account to add you (Members page).</p>
      )}
      <form className="card form" onSubmit={submit}>
        {error !== undefined && <ErrorBox error={error} />}
        <Field label="Account name" hint="Your team or organisation, e.g. Acme.">
          <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label="Namespace (optional)" hint="The first part of every image name. Derived from the name when left empty.">
          <input maxLength={63} pattern="[a-z0-9]+([._-][a-z0-9]+)*" value={namespace} onChange={(e) => setNamespace(e.target.value)} />
        </Field>
        <div className="actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Creating…' : 'Create account'}</button>
        </div>
      </form>
    </section>
  );
}
