import { useState, type FormEvent } from 'react';
import { api, ApiError, call } from '../api/client';
import type { Role } from '../api/types';
import { CopyField } from './Copy';
import { ErrorBox, Notice } from './Feedback';
import { Field } from './Form';

/** A readable random password for a new login (shown once to the owner, who passes it on). */
function newPassword(): string {
  const abc = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const r = crypto.getRandomValues(new Uint32Array(20));
  return Array.from(r, (x) => abc[x % abc.length]).join('');
}

/**
 * Add a person by email and role. Someone who already has a BuildGrid login is added at once; for a new email the
 * owner may create the login here (the API lets owners create users into their account) and pass the password on.
 */
export function InviteMember({ ns, onAdded }: { ns: string; onAdded: () => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const [error, setError] = useState<unknown>();
  const [unknownEmail, setUnknownEmail] = useState<string | null>(null);
  const [done, setDone] = useState<{ email: string; password?: string } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const who = email.trim().toLowerCase();
    setBusy(true);
    setError(undefined);
    setDone(null);
    setUnknownEmail(null);
    try {
      await call(api.PUT('/api/v1/accounts/{namespace}/members', { params: { path: { namespace: ns } }, body: { email: who, role } }));
      setDone({ email: who });
      setEmail('');
      onAdded();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'not_found') setUnknownEmail(who);
      else setError(err);
    } finally {
      setBusy(false);
    }
  };

  const createLogin = async () => {
    if (!unknownEmail) return;
    const password = newPassword();
    setBusy(true);
    try {
      await call(api.POST('/api/v1/users', { body: { email: unknownEmail, password, account: ns, role } }));
      setDone({ email: unknownEmail, password });
      setUnknownEmail(null);
      setEmail('');
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card form" onSubmit={submit} aria-label="Add a member">
      <h2>Add a member</h2>
      <div className="grid-invite">
        <Field label="Email"><input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="off" /></Field>
        <Field label="Role">
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="developer">developer</option><option value="viewer">viewer</option><option value="owner">owner</option>
          </select>
        </Field>
        <div className="field field-button"><button type="submit" className="btn btn-primary" disabled={busy}>Add member</button></div>
      </div>
      {error !== undefined && <ErrorBox error={error} />}
      {unknownEmail && (
        <div className="notice notice-info" role="status">
          <p><strong>{unknownEmail}</strong> has no BuildGrid login yet. Create one now? You get a password to pass on; they can sign in right away.</p>
          <div className="actions actions-start">
            <button type="button" className="btn btn-primary" onClick={() => void createLogin()} disabled={busy}>Create login and add as {role}</button>
            <button type="button" className="btn" onClick={() => setUnknownEmail(null)}>Cancel</button>
          </div>
        </div>
      )}
      {done && !done.password && <Notice>{done.email} is now a {role} of {ns}.</Notice>}
      {done?.password && (
        <div className="notice notice-ok" role="status">
          <p><strong>{done.email}</strong> can sign in at <code>{window.location.origin}</code> with this password. It is shown only once; pass it on privately.</p>
          <CopyField label="Password" value={done.password} secret />
        </div>
      )}
    </form>
  );
}
