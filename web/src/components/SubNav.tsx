import { Link, paths, usePath } from '../lib/router';

/** One tab: where it goes and what it says. */
export interface Tab { to: string; label: string }

/** Tabs under a page heading, as a labelled navigation; the current one (or the one a sub-path belongs to) is marked. */
export function SubNav({ label, tabs }: { label: string; tabs: Tab[] }) {
  const path = usePath();
  return (
    <nav aria-label={label} className="subnav">
      {tabs.map((t) => (
        <Link key={t.to} to={t.to} aria-current={path === t.to || path.startsWith(`${t.to}/`) ? 'page' : undefined}>{t.label}</Link>
      ))}
    </nav>
  );
}

/** The administration pages' tabs: Storage, Build workers. */
export function AdminNav() {
  return <SubNav label="Administration" tabs={[{ to: paths.adminStorage(), label: 'Storage' }, { to: paths.adminWorkers(), label: 'Build workers' }]} />;
}

/** An account's settings tabs: registry credentials and pull tokens, notifications. */
export function SettingsNav({ ns }: { ns: string }) {
  return <SubNav label="Settings" tabs={[{ to: paths.settings(ns), label: 'Registry & pull tokens' }, { to: paths.notifications(ns), label: 'Notifications' }]} />;
}
