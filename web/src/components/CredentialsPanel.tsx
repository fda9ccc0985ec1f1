import { useState } from 'react';
import { api, call } from '../api/client';
import { useLoad } from '../lib/useLoad';
import { loadCredentials, setCredentials } from '../lib/credentials';
import { CodeBlock, CopyField } from './Copy';
import { ConfirmButton } from './Dialog';
import { ErrorBox, Loading, Notice } from './Feedback';

/** The user's BuildGrid (registry) credentials: username, password (reveal, copy), rotate. */
export function CredentialsPanel({ ns }: { ns: string }) {
  const creds = useLoad(() => loadCredentials(true), 'credentials');
  const [rotated, setRotated] = useState(false);
  const [error, setError] = useState<unknown>();

  const rotate = async () => {
    setError(undefined);
    try {
      const c = await call(api.POST('/api/v1/credentials/rotate'));
      setCredentials(c);
      creds.setData(c);
      setRotated(true);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section className="card block" aria-labelledby="creds-h">
      <h2 id="creds-h">Registry credentials</h2>
      <p className="muted">
        Use these with <code>docker login</code>, Podman, skopeo or any registry client to pull images from every account you belong to.
        They are separate from your dashboard password and can only pull.
      </p>
      {creds.loading && <Loading what="your credentials" />}
      {creds.error !== undefined && <ErrorBox error={creds.error} retry={creds.reload} />}
      {creds.data && (
        <>
          <div className="copyfields">
            <CopyField label="Registry" value={creds.data.registry} />
            <CopyField label="Username" value={creds.data.username} testId="registry-username" />
            <CopyField label="Password" value={creds.data.password} secret testId="registry-password" />
          </div>
          {rotated && <Notice>New password issued. The old one no longer works: update <code>docker login</code> wherever you used it.</Notice>}
          {error !== undefined && <ErrorBox error={error} title="Rotation failed" />}
          <CodeBlock label="Sign in with Docker" code={`docker login ${creds.data.registry} -u ${creds.data.username} --password-stdin   # paste the password, then Ctrl-D`} />
          <div className="actions actions-start">
            <ConfirmButton label="Rotate password" title="Rotate your registry password?" confirmLabel="Rotate password" danger onConfirm={rotate}>
              <p>BuildGrid issues a new password and <strong>the current one stops working at once</strong>, on every machine that uses it.</p>
              <p>Pull tokens of {ns} are not affected.</p>
            </ConfirmButton>
          </div>
        </>
      )}
    </section>
  );
}
