import { accountUsage, getPolicy, listTrash } from '../api/lifecycle';
import { useSession } from '../lib/session';
import { useLoad } from '../lib/useLoad';
import { ErrorBox, Loading } from '../components/Feedback';
import { PageHead } from '../components/PageHead';
import { PolicyForm } from '../components/storage/PolicyForm';
import { RetentionRun } from '../components/storage/RetentionRun';
import { TrashList } from '../components/storage/Trash';
import { UsageFacts, UsageTable } from '../components/storage/Usage';

/**
 * An account's storage: the default retention policy (for applications without their own) with a dry run across
 * every application, usage of the account and of each application (unique, shared, in trash), and the trash.
 */
export function StoragePage({ ns }: { ns: string }) {
  const s = useSession();
  const account = s.accounts.find((a) => a.namespace === ns) ?? null;
  const policy = useLoad(() => getPolicy({ ns }), ns);
  const usage = useLoad(() => accountUsage(ns), ns);
  const trash = useLoad(() => listTrash(ns), ns);
  const changed = () => {
    void usage.reload();
    void trash.reload();
  };
  const short = (name: string) => name.replace(`${ns}/`, '');

  return (
    <section>
      <PageHead crumbs={account?.name ?? ns} title="Storage" />

      <section className="card block" aria-labelledby="default-policy-h">
        <h2 id="default-policy-h">Default retention policy</h2>
        <p className="muted">Applies to every application of {account?.name ?? ns} that has no policy of its own (set that on the application&apos;s page).</p>
        {policy.loading && <Loading what="the retention policy" />}
        {policy.error !== undefined && <ErrorBox error={policy.error} retry={policy.reload} />}
        {policy.data && <PolicyForm scope={{ ns }} reply={policy.data} canEdit={s.can(account, 'owner')} onChanged={() => void policy.reload()} />}
        <h3>All applications</h3>
        <p className="muted small">A dry run evaluates each application&apos;s policy in force (its own or this default).</p>
        <RetentionRun scope={{ ns }} canDryRun={s.can(account, 'developer')} canApply={s.can(account, 'owner')} onApplied={changed} />
      </section>

      <section className="card block" aria-labelledby="usage-h">
        <h2 id="usage-h">Storage used</h2>
        {usage.loading && <Loading what="storage usage" />}
        {usage.error !== undefined && <ErrorBox error={usage.error} retry={usage.reload} />}
        {usage.data && (
          <>
            {usage.data.accounts[0] && <UsageFacts row={usage.data.accounts[0]} label={`Storage used by ${ns}`} />}
            <h3>Per application</h3>
            <p className="muted small">Unique bytes are used by that application only; shared bytes (common base layers) also by others.</p>
            <UsageTable rows={usage.data.applications} label="Storage per application" what="Application" nameOf={(r) => short(r.name)} />
            <details className="report-kept">
              <summary>Per repository ({usage.data.repositories.length})</summary>
              <UsageTable rows={usage.data.repositories} label="Storage per repository" what="Repository" />
            </details>
          </>
        )}
      </section>

      <section className="card block" aria-labelledby="trash-h">
        <h2 id="trash-h">Removed images</h2>
        {trash.loading && <Loading what="removed images" />}
        {trash.error !== undefined && <ErrorBox error={trash.error} retry={trash.reload} />}
        {trash.data && <TrashList ns={ns} entries={trash.data} canRestore={s.can(account, 'developer')} onRestored={changed} showApp />}
      </section>
    </section>
  );
}
