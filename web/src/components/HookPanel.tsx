import { useState } from 'react';
import { api, ApiError, call } from '../api/client';
import { useLoad } from '../lib/useLoad';
import { CopyField } from './Copy';
import { ConfirmButton } from './Dialog';
import { ErrorBox, Loading, Notice } from './Feedback';
import { RelTime } from './Time';

/** The application's redeploy hook: the URL a git host calls on push (with its secret), rotation, recent deliveries. */
export function HookPanel({ ns, app, canManage }: { ns: string; app: string; canManage: boolean }) {
  const p = { path: { namespace: ns, app } };
  const hook = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/apps/{app}/hook', { params: p })), `${ns}/${app}`);
  const deliveries = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/apps/{app}/hook/deliveries', { params: { ...p, query: { limit: 5 } } })), `${ns}/${app}`);
  const [error, setError] = useState<unknown>();
  const [rotated, setRotated] = useState(false);

  if (hook.loading) return <Loading what="the redeploy hook" />;
  if (hook.error instanceof ApiError && hook.error.status === 404) return <p className="muted">This server does not accept webhooks.</p>;
  if (!hook.data) return <ErrorBox error={hook.error} retry={hook.reload} />;
  const h = hook.data;

  const rotate = async () => {
    try {
      hook.setData(await call(api.POST('/api/v1/accounts/{namespace}/apps/{app}/hook/rotate', { params: p })));
      setRotated(true);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <div>
      <p className="muted">Point your git host's push webhook here: a push to a service's branch deploys it. GitHub, GitLab and Bitbucket may use the URL without the key and sign with the secret instead.</p>
      <div className="copyfields">
        {h.url ? <CopyField label="Hook URL" value={h.url} secret /> : <p className="muted">Developers and owners see the hook URL and secret.</p>}
        <CopyField label="Signed URL" value={h.signedUrl} />
        {h.secret && <CopyField label="Secret" value={h.secret} secret />}
      </div>
      {h.failedAuthCount > 0 && (
        <Notice tone="warn">
          {h.failedAuthCount} request{h.failedAuthCount === 1 ? ' was' : 's were'} refused for a wrong secret or signature
          {h.lastFailedAuthAt && <> (last <RelTime iso={h.lastFailedAuthAt} />{h.lastFailedAuthReason ? `: ${h.lastFailedAuthReason}` : ''})</>}.
        </Notice>
      )}
      {rotated && <Notice>New secret issued; the old URL and secret stop working now. Update the webhook on your git host.</Notice>}
      {error !== undefined && <ErrorBox error={error} />}
      {deliveries.data && deliveries.data.length > 0 && (
        <ul className="deliveries small" aria-label="Recent deliveries">
          {deliveries.data.map((d) => (
            <li key={d.id}><RelTime iso={d.createdAt} /> · {d.provider} {d.event} · <strong>{d.status}</strong> {d.message}</li>
          ))}
        </ul>
      )}
      {canManage && (
        <div className="actions actions-start">
          <ConfirmButton label="Rotate secret" title="Rotate the hook secret?" confirmLabel="Rotate secret" danger onConfirm={rotate}>
            <p>Pushes signed or addressed with the current secret are refused from now on, until you update the webhook on your git host.</p>
          </ConfirmButton>
        </div>
      )}
    </div>
  );
}
