import { useState } from 'react';
import { useCredentials } from '../lib/credentials';
import { Link, paths } from '../lib/router';
import { CodeBlock } from './Copy';
import { Dialog } from './Dialog';

/** A Kubernetes-friendly name from an image repository (acme/shop.web → shop-web). */
export function k8sName(image: string): string {
  const repo = image.split('/').slice(1).join('/').split(/[:@]/)[0] ?? 'app';
  const last = repo.split('/').pop() ?? repo;
  return last.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63) || 'app';
}

/** Ready-made docker and Kubernetes lines for one image. */
export function PullRunPanel({ image, digest, ns }: { image: string; digest?: string | null; ns: string }) {
  const creds = useCredentials();
  const host = image.split('/')[0] ?? '';
  const user = creds?.username ?? '<your registry username>';
  const name = k8sName(image);
  const byDigest = digest ? `${image.replace(/:[^:/]+$/, '')}@${digest}` : null;
  const docker = [
    `docker login ${host} -u ${user}`,
    `docker pull ${image}`,
    `docker run --rm ${image}`,
  ].join('\n');
  const secret = [
    'kubectl create secret docker-registry buildgrid-pull \\',
    `  --docker-server=${host} \\`,
    `  --docker-username='${ns}+<pull token name>' \\`,
    "  --docker-password='<pull token password>'",
  ].join('\n');
  const deployment = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  replicas: 1',
    '  selector:',
    `    matchLabels: { app: ${name} }`,
    '  template:',
    '    metadata:',
    `      labels: { app: ${name} }`,
    '    spec:',
    '      imagePullSecrets:',
    '        - name: buildgrid-pull',
    '      containers:',
    `        - name: ${name}`,
    `          image: ${byDigest ?? image}`,
  ].join('\n');
  return (
    <div className="pullrun">
      <h3>Docker</h3>
      <p className="muted">
        Sign in with your BuildGrid credentials (username <code>{user}</code>; the password is in{' '}
        <Link to={paths.settings(ns)}>Settings → BuildGrid Settings</Link>), then pull and run. Podman, skopeo and crane take the same names.
      </p>
      <CodeBlock label="docker login, pull and run" code={docker} />
      {byDigest && <CodeBlock label="Pull by digest (immutable)" code={`docker pull ${byDigest}`} />}
      <h3>Kubernetes</h3>
      <p className="muted">
        Use a pull token for clusters: create one under <Link to={paths.settings(ns)}>Settings → Pull tokens</Link> (its username
        is <code>{ns}+&lt;name&gt;</code>, its password is shown once), store it as a pull secret and refer to it.
      </p>
      <CodeBlock label="kubectl pull secret" code={secret} />
      <CodeBlock label="Deployment snippet" code={deployment} />
    </div>
  );
}

/** A "Pull & run" button opening the panel in a dialog. */
export function PullRunButton({ image, digest, ns }: { image: string; digest?: string | null; ns: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="btn btn-small btn-quiet" onClick={() => setOpen(true)} aria-label={`Pull and run ${image}`}>Pull &amp; run</button>
      <Dialog open={open} onClose={() => setOpen(false)} title="Pull & run" wide>
        <p className="mono small break">{image}</p>
        <PullRunPanel image={image} digest={digest} ns={ns} />
      </Dialog>
    </>
  );
}
