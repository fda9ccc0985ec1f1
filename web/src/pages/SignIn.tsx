import { useState, type FormEvent } from 'react';
import { api, call, messageOf, setCsrfToken } from '../api/client';
import { Field } from '../components/Form';

/** Email + password → a session cookie (HttpOnly: the page never sees the token) and its CSRF token. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await call(api.POST('/api/v1/auth/session', { body: { email: email.trim(), password } }));
      setCsrfToken(r.csrfToken);
      onSignedIn();
    } catch (err) {
      setError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined}>
        <div className="brand brand-large">
          <img src="/favicon.svg" alt="" width="32" height="32" />
          <span>BuildGrid</span>
        </div>
        <h1>Sign in</h1>
        <p className="muted">Use your dashboard email and password. Your BuildGrid registry credentials are separate; you find them under Settings after signing in.</p>
        {error && <div className="notice notice-bad" role="alert" id="signin-error">{error}</div>}
        <Field label="Email">
          <input type="email" name="email" autoComplete="username" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} />
        </Field>
        <Field label="Password">
          <input type="password" name="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        <p className="hint">First start? The server printed the administrator's email and password in its log.</p>
      </form>
    </main>
  );
}
