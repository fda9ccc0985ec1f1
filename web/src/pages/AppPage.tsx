import { useCallback } from 'react';
import { api, call } from '../api/client';
import { useSession } from '../lib/session';
import { useLoad } from '../lib/useLoad';
import { useAppEvents } from '../lib/useLive';
import { Link, paths } from '../lib/router';
import { ErrorBox, Loading } from '../components/Feedback';
import { DeployControl } from '../components/Deploy';
import { ServiceList } from '../components/ServiceList';
import { Timeline } from '../components/Timeline';
import { ImagesTable } from '../components/ImagesTable';
import { EnvEditor } from '../components/EnvEditor';
import { LiveDot } from '../components/LiveDot';
import { HookPanel } from '../components/HookPanel';
import { AppStorage } from '../components/storage/AppStorage';
import { listTrash } from '../api/lifecycle';

/**
 * An application: its services with their latest images, Deploy, the live timeline, images, retention and storage,
 * and the build environment.
 */
export function AppPage({ ns, app }: { ns: string; app: string }) {
  const s = useSession();
  const account = s.accounts.find((a) => a.namespace === ns) ?? null;
  const canBuild = s.can(account, 'developer');
  const p = { path: { namespace: ns, app } };
  const key = `${ns}/${app}`;
  const detail = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/apps/{app}', { params: p })), key);
  const timeline = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/apps/{app}/timeline', { params: { ...p, query: { limit: 50 } } })), key);
  const images = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/apps/{app}/images', { params: p })), key);
  const trash = useLoad(() => listTrash(ns, app), key);

  const refresh = useCallback(() => {
    void detail.reload();
    void timeline.reload();
    void images.reload();
    void trash.reload();
  }, [detail.reload, timeline.reload, images.reload, trash.reload]);
  const live = useAppEvents(ns, app, refresh);

  if (detail.loading) return <Loading what="the application" />;
  if (!detail.data) return <ErrorBox error={detail.error} retry={detail.reload} title="Cannot load this application" />;
  const a = detail.data;
  const branches = [...new Set(a.services.map((x) => x.branch))];

  return (
    <section>
      <div className="pagehead">
        <div>
          <p className="crumbs"><Link to={paths.apps(ns)}>{account?.name ?? ns}</Link> / Applications</p>
          <h1>{a.name}</h1>
        </div>
        <DeployControl ns={ns} app={app} branches={branches} canDeploy={canBuild} hasServices={a.services.length > 0} onDeployed={refresh} />
      </div>

      <section aria-labelledby="services-h" className="block">
        <div className="blockhead">
          <h2 id="services-h">Services</h2>
          {canBuild && <Link to={paths.newService(ns, app)} className="btn btn-small">Add service</Link>}
        </div>
        <ServiceList ns={ns} app={app} services={a.services} canEdit={canBuild} />
      </section>

      <section aria-labelledby="timeline-h" className="block">
        <div className="blockhead">
          <h2 id="timeline-h">Build &amp; Deployment Timeline</h2>
          <LiveDot state={live} />
        </div>
        {timeline.error !== undefined && <ErrorBox error={timeline.error} retry={timeline.reload} />}
        {timeline.loading ? <Loading what="the timeline" /> : (
          <Timeline ns={ns} app={app} entries={timeline.data ?? []} removals={trash.data} canRebuild={canBuild} onChanged={refresh} />
        )}
      </section>

      <section aria-labelledby="images-h" className="block">
        <h2 id="images-h">Images</h2>
        {images.error !== undefined && <ErrorBox error={images.error} retry={images.reload} />}
        {images.data && <ImagesTable ns={ns} rows={images.data} />}
      </section>

      <section aria-labelledby="storage-h" className="block" id="storage">
        <h2 id="storage-h">Retention &amp; storage</h2>
        <AppStorage ns={ns} app={app} trash={trash} canDryRun={canBuild} canOwn={s.can(account, 'owner')} canRestore={canBuild} onChanged={refresh} />
      </section>

      <section aria-labelledby="hook-h" className="block">
        <h2 id="hook-h">Redeploy hook</h2>
        <HookPanel ns={ns} app={app} canManage={canBuild} />
      </section>

      <section aria-labelledby="env-h" className="block">
        <h2 id="env-h">Build environment</h2>
        <EnvEditor ns={ns} app={app} env={a.env} canEdit={canBuild} onSaved={(v) => detail.setData({ ...a, env: v.env })} />
      </section>
    </section>
  );
}
