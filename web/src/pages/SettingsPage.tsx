import { useSession } from '../lib/session';
import { CredentialsPanel } from '../components/CredentialsPanel';
import { PullTokensPanel } from '../components/PullTokensPanel';
import { SettingsNav } from '../components/SubNav';

/** Settings → BuildGrid Settings: the user's registry credentials and the account's pull tokens (Notifications is the other tab). */
export function SettingsPage({ ns }: { ns: string }) {
  const s = useSession();
  const account = s.accounts.find((a) => a.namespace === ns) ?? null;
  return (
    <section>
      <div className="pagehead">
        <div>
          <p className="crumbs">Settings</p>
          <h1>BuildGrid Settings</h1>
        </div>
      </div>
      <SettingsNav ns={ns} />
      <CredentialsPanel ns={ns} />
      <PullTokensPanel ns={ns} canManage={s.can(account, 'developer')} />
    </section>
  );
}
