import { useEffect, useState, type FormEvent } from 'react';
import { api, call } from '../api/client';
import type { Service, ServiceBody } from '../api/types';
import { useLoad } from '../lib/useLoad';
import { Link, navigate, paths } from '../lib/router';
import { ErrorBox, Loading } from '../components/Feedback';
import { Field, formatVars, parseVars } from '../components/Form';

type Auth = 'none' | 'token' | 'ssh';
interface Form { name: string; gitUrl: string; branch: string; dockerfile: string; context: string; buildArgs: string; auth: Auth; tokenUser: string; token: string; poll: string }

const blank: Form = { name: '', gitUrl: '', branch: 'main', dockerfile: 'Dockerfile', context: '.', buildArgs: '', auth: 'none', tokenUser: '', token: '', poll: '' };
const fromService = (s: Service): Form => ({
  name: s.name, gitUrl: s.gitUrl, branch: s.branch, dockerfile: s.dockerfile, context: s.context, buildArgs: formatVars(s.buildArgs),
  auth: s.gitAuth, tokenUser: '', token: '', poll: s.pollIntervalSeconds ? String(s.pollIntervalSeconds) : '',
});

/** Add a service to an application, or edit one (`service` given). */
export function ServicePage({ ns, app, service }: { ns: string; app: string; service?: string }) {
  const detail = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/apps/{app}', { params: { path: { namespace: ns, app } } })), `${ns}/${app}`);
  const existing = service ? detail.data?.services.find((s) => s.name === service) : undefined;
  const [f, setF] = useState<Form>(blank);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  useEffect(() => { if (existing) setF(fromService(existing)); }, [existing]);

  if (detail.loading) return <Loading what="the application" />;
  if (!detail.data) return <ErrorBox error={detail.error} retry={detail.reload} />;
  if (service && !existing) return <ErrorBox error={new Error(`${detail.data.name} has no service named ${service}.`)} title="Not found" />;

  const set = <K extends keyof Form>(k: K) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value as Form[K] });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const { vars, bad } = parseVars(f.buildArgs);
    if (bad.length) return setError(new Error(`Build arguments must be KEY=VALUE lines; these are not: ${bad.join(', ')}`));
    const poll = f.poll.trim() ? Number(f.poll) : null;
    const body: Omit<ServiceBody, 'name'> = {
      gitUrl: f.gitUrl.trim(), branch: f.branch.trim() || 'main', dockerfile: f.dockerfile.trim() || 'Dockerfile', context: f.context.trim() || '.',
      buildArgs: vars, pollIntervalSeconds: poll,
      ...(f.auth === 'token' && f.token ? { gitToken: { token: f.token, ...(f.tokenUser.trim() ? { username: f.tokenUser.trim() } : {}) } } : {}),
    };
    setBusy(true);
    setError(undefined);
    try {
      const path = { namespace: ns, app };
      if (existing) await call(api.PATCH('/api/v1/accounts/{namespace}/apps/{app}/services/{service}', { params: { path: { ...path, service: existing.name } }, body }));
      else await call(api.POST('/api/v1/accounts/{namespace}/apps/{app}/services', { params: { path }, body: { name: f.name.trim(), ...body, ...(f.auth === 'ssh' ? { sshDeployKey: true } : {}) } }));
      navigate(paths.app(ns, app));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <p className="crumbs"><Link to={paths.apps(ns)}>{ns}</Link> / <Link to={paths.app(ns, app)}>{detail.data.name}</Link></p>
      <h1>{existing ? `Edit ${existing.name}` : 'Add a service'}</h1>
      <form className="card form" onSubmit={submit}>
        {error !== undefined && <ErrorBox error={error} />}
        {!existing && (
          <Field label="Service name" hint="A short name such as web or worker.">
            <input required maxLength={63} value={f.name} onChange={set('name')} autoFocus />
          </Field>
        )}
        <Field label="Git repository URL" hint="https://, ssh:// or git@host:path. The image repository is named after its last path segment.">
          <input required value={f.gitUrl} onChange={set('gitUrl')} spellCheck={false} placeholder="https://github.com/acme/shop.git" />
        </Field>
        <div className="grid2">
          <Field label="Branch"><input value={f.branch} onChange={set('branch')} spellCheck={false} /></Field>
          <Field label="Poll every (seconds)" hint="Optional: build new commits without a webhook (30 or more).">
            <input type="number" min={30} max={86400} value={f.poll} onChange={set('poll')} />
          </Field>
          <Field label="Dockerfile path"><input value={f.dockerfile} onChange={set('dockerfile')} spellCheck={false} /></Field>
          <Field label="Build context" hint="Folder of the repository sent to the build."><input value={f.context} onChange={set('context')} spellCheck={false} /></Field>
        </div>
        <Field label="Build arguments" hint="One KEY=VALUE per line (ARG in the Dockerfile). They add to the application's build environment.">
          <textarea rows={3} className="mono" value={f.buildArgs} onChange={set('buildArgs')} spellCheck={false} />
        </Field>
        <fieldset className="fieldset">
          <legend>Repository access</legend>
          <label className="check"><input type="radio" name="auth" checked={f.auth === 'none'} onChange={() => setF({ ...f, auth: 'none' })} /> Public (no credentials)</label>
          <label className="check"><input type="radio" name="auth" checked={f.auth === 'token'} onChange={() => setF({ ...f, auth: 'token' })} /> Access token (HTTPS)</label>
          {(!existing || existing.gitAuth === 'ssh') && (
            <label className="check"><input type="radio" name="auth" checked={f.auth === 'ssh'} disabled={!!existing} onChange={() => setF({ ...f, auth: 'ssh' })} /> SSH deploy key (BuildGrid generates one)</label>
          )}
          {f.auth === 'token' && (
            <div className="grid2">
              <Field label="Username (optional)"><input value={f.tokenUser} onChange={set('tokenUser')} autoComplete="off" /></Field>
              <Field label="Token" hint={existing?.gitAuth === 'token' ? 'Leave empty to keep the stored token.' : 'Stored encrypted; never shown again.'}>
                <input type="password" value={f.token} onChange={set('token')} autoComplete="new-password" required={existing?.gitAuth !== 'token'} />
              </Field>
            </div>
          )}
        </fieldset>
        <div className="actions">
          <Link to={paths.app(ns, app)} className="btn">Cancel</Link>
          <button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Saving…' : existing ? 'Save service' : 'Add service'}</button>
        </div>
      </form>
    </section>
  );
}
