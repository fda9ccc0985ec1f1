import { useSession } from '../lib/session';
import { Link, navigate, paths, usePath } from '../lib/router';

/** The top bar: brand, account switcher, navigation, the signed-in user and Sign out. */
export function Header() {
  const s = useSession();
  const path = usePath();
  const ns = s.current?.namespace;
  const nav = ns
    ? [
        { to: paths.apps(ns), label: 'Applications', active: path === paths.apps(ns) || path.startsWith(`${paths.apps(ns)}/apps`) },
        { to: paths.members(ns), label: 'Members', active: path === paths.members(ns) },
        { to: paths.storage(ns), label: 'Storage', active: path === paths.storage(ns) },
        { to: paths.settings(ns), label: 'Settings', active: path === paths.settings(ns) || path === paths.notifications(ns) },
      ]
    : [];
  if (s.me.isAdmin) nav.push({ to: paths.adminStorage(), label: 'Administration', active: path.startsWith('/admin/') });
  return (
    <header className="topbar">
      <div className="topbar-inner">
        <Link to={ns ? paths.apps(ns) : '/'} className="brand" aria-label="BuildGrid home">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          <span>BuildGrid</span>
        </Link>
        {s.accounts.length > 0 && (
          <div className="switcher">
            <label htmlFor="account-switcher" className="visually-hidden">Account</label>
            <select
              id="account-switcher" value={ns ?? ''}
              onChange={(e) => {
                if (e.target.value === '__new') return navigate(paths.newAccount());
                s.choose(e.target.value);
                navigate(paths.apps(e.target.value));
              }}
            >
              {s.accounts.map((a) => (
                <option key={a.id} value={a.namespace}>{a.name}{a.role ? ` (${a.role})` : ''}</option>
              ))}
              <option value="__new">+ New account…</option>
            </select>
          </div>
        )}
        <nav aria-label="Main" className="mainnav">
          {nav.map((n) => (
            <Link key={n.to} to={n.to} aria-current={n.active ? 'page' : undefined}>{n.label}</Link>
          ))}
        </nav>
        <div className="me">
          <span className="me-email" title={s.me.isAdmin ? 'administrator' : undefined}>{s.me.email}</span>
          <button type="button" className="btn btn-small btn-quiet" onClick={() => void s.signOut().then(() => navigate('/'))}>Sign out</button>
        </div>
      </div>
    </header>
  );
}
