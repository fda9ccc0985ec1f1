import type { Service } from '../api/types';
import { Link, paths } from '../lib/router';
import { CopyButton } from './Copy';
import { Empty } from './Feedback';
import { PullRunButton } from './PullRun';
import { StatusBadge } from './Status';
import { RelTime } from './Time';

/** The services of an application, each with its latest build and image. */
export function ServiceList({ ns, app, services, canEdit }: { ns: string; app: string; services: Service[]; canEdit: boolean }) {
  if (services.length === 0) {
    return (
      <Empty
        title="No services yet"
        action={canEdit ? <Link to={paths.newService(ns, app)} className="btn btn-primary">Add a service</Link> : undefined}
      >
        <p>A service is one image to build: a git repository (URL and branch) with a Dockerfile. Add one, then press Deploy.</p>
      </Empty>
    );
  }
  return (
    <ul className="services" aria-label="Services">
      {services.map((s) => <ServiceCard key={s.id} ns={ns} app={app} s={s} canEdit={canEdit} />)}
    </ul>
  );
}

function ServiceCard({ ns, app, s, canEdit }: { ns: string; app: string; s: Service; canEdit: boolean }) {
  const latest = s.latest;
  return (
    <li className="card service" data-service={s.name}>
      <div className="service-head">
        <h3>{s.name}</h3>
        {latest ? <StatusBadge status={latest.status} /> : <StatusBadge status="none" label="Never built" />}
      </div>
      <dl className="facts">
        <div><dt>Repository</dt><dd className="mono break">{s.gitUrl}</dd></div>
        <div><dt>Branch</dt><dd className="mono">{s.branch}</dd></div>
        <div><dt>Dockerfile</dt><dd className="mono">{s.dockerfile} <span className="muted">in</span> {s.context}</dd></div>
        {latest && (
          <div>
            <dt>Latest build</dt>
            <dd>
              <Link to={paths.build(ns, app, latest.buildId)}>{latest.commit ? latest.commit.slice(0, 7) : 'view'}</Link>
              {latest.finishedAt && <> · <RelTime iso={latest.finishedAt} /></>}
            </dd>
          </div>
        )}
      </dl>
      {latest?.image ? (
        <div className="imageline">
          <code className="mono break service-image" data-testid="service-image">{latest.image}</code>
          <span className="imageline-actions">
            <CopyButton text={latest.image} what="image URL" />
            <PullRunButton image={latest.image} ns={ns} />
          </span>
        </div>
      ) : (
        <p className="muted small">Image repository <code className="mono">{s.imageRepository}</code>: no image yet{canEdit ? '; press Deploy to build one.' : '.'}</p>
      )}
      {s.sshPublicKey && (
        <details className="small">
          <summary>SSH deploy key (add it to the git host, read-only)</summary>
          <pre className="wrap">{s.sshPublicKey}</pre>
          <CopyButton text={s.sshPublicKey} what="SSH public key" />
        </details>
      )}
      {canEdit && <div className="service-foot"><Link to={paths.service(ns, app, s.name)} className="btn btn-small btn-quiet">Edit service</Link></div>}
    </li>
  );
}
