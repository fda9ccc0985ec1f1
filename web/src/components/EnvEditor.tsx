import { useEffect, useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { AppView } from '../api/types';
import { ErrorBox, Notice } from './Feedback';
import { Field, formatVars, parseVars } from './Form';

/** The application's build-time environment (KEY=VALUE lines; passed to every service's build as build args). */
export function EnvEditor(props: { ns: string; app: string; env: Record<string, string>; canEdit: boolean; onSaved: (a: AppView) => void }) {
  const [text, setText] = useState(formatVars(props.env));
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => setText(formatVars(props.env)), [props.env]);

  if (!props.canEdit) {
    const n = Object.keys(props.env).length;
    return <p className="muted">{n === 0 ? 'No build-time variables.' : `${n} build-time variable${n === 1 ? '' : 's'} set.`}</p>;
  }
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { vars, bad } = parseVars(text);
    if (bad.length) return setError(new Error(`Each line must be KEY=VALUE; these are not: ${bad.join(', ')}`));
    setBusy(true);
    setError(undefined);
    try {
      props.onSaved(await call(api.PUT('/api/v1/accounts/{namespace}/apps/{app}/env', { params: { path: { namespace: props.ns, app: props.app } }, body: { env: vars } })));
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form" onSubmit={submit}>
      <Field label="Variables" hint="One KEY=VALUE per line. Every build of this application gets them as build arguments (ARG in the Dockerfile).">
        <textarea rows={4} className="mono" value={text} onChange={(e) => { setText(e.target.value); setSaved(false); }} spellCheck={false} />
      </Field>
      {error !== undefined && <ErrorBox error={error} />}
      {saved && <Notice>Saved. The next build uses them.</Notice>}
      <div className="actions"><button type="submit" className="btn" disabled={busy}>{busy ? 'Saving…' : 'Save variables'}</button></div>
    </form>
  );
}
