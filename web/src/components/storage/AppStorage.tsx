import type { TrashEntry } from '../../api/types';
import { appUsage, getPolicy } from '../../api/lifecycle';
import { useLoad, type Loaded } from '../../lib/useLoad';
import { ErrorBox, Loading } from '../Feedback';
import { PolicyForm } from './PolicyForm';
import { RetentionRun } from './RetentionRun';
import { TrashList } from './Trash';
import { UsageFacts, UsageTable } from './Usage';

/**
 * The application page's "Retention & storage": the policy in force and its form, dry run / apply, the storage the
 * application uses, and its removed images. `trash` is loaded by the page (the timeline shows it too); `onChanged`
 * reloads what a run or a restore changes elsewhere on the page.
 */
export function AppStorage(props: { ns: string; app: string; trash: Loaded<TrashEntry[]>; canDryRun: boolean; canOwn: boolean; canRestore: boolean; onChanged: () => void }) {
  const { ns, app } = props;
  const key = `${ns}/${app}`;
  const policy = useLoad(() => getPolicy({ ns, app }), key);
  const usage = useLoad(() => appUsage(ns, app), key);
  const changed = () => {
    void usage.reload();
    props.onChanged();
  };

  return (
    <>
      <div className="subblock">
        <h3 id="policy-h">Retention policy</h3>
        {policy.loading && <Loading what="the retention policy" />}
        {policy.error !== undefined && <ErrorBox error={policy.error} retry={policy.reload} />}
        {policy.data && <PolicyForm scope={{ ns, app }} reply={policy.data} canEdit={props.canOwn} onChanged={() => void policy.reload()} />}
        <RetentionRun scope={{ ns, app }} canDryRun={props.canDryRun} canApply={props.canOwn} onApplied={changed} />
      </div>

      <div className="subblock">
        <h3 id="usage-h">Storage used</h3>
        {usage.loading && <Loading what="storage usage" />}
        {usage.error !== undefined && <ErrorBox error={usage.error} retry={usage.reload} />}
        {usage.data && (
          <>
            <UsageFacts row={usage.data.application} label="Storage used by this application" />
            {usage.data.repositories.length > 1 && (
              <UsageTable rows={usage.data.repositories} label="Storage per repository" what="Repository" />
            )}
          </>
        )}
      </div>

      <div className="subblock">
        <h3 id="trash-h">Removed images</h3>
        {props.trash.error !== undefined && <ErrorBox error={props.trash.error} retry={props.trash.reload} />}
        {props.trash.data && <TrashList ns={ns} entries={props.trash.data} canRestore={props.canRestore} onRestored={changed} />}
      </div>
    </>
  );
}
