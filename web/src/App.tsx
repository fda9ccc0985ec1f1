import { useEffect, type ReactElement } from 'react';
import { SessionProvider, useSession } from './lib/session';
import { match, navigate, paths, usePath } from './lib/router';
import { ErrorBox, Loading } from './components/Feedback';
import { Header } from './components/Header';
import { SignIn } from './pages/SignIn';
import { AppsPage } from './pages/AppsPage';
import { AppPage } from './pages/AppPage';
import { ServicePage } from './pages/ServicePage';
import { BuildPage } from './pages/BuildPage';
import { MembersPage } from './pages/MembersPage';
import { SettingsPage } from './pages/SettingsPage';
import { NewAccountPage } from './pages/NewAccountPage';
import { StoragePage } from './pages/StoragePage';
import { AdminStoragePage } from './pages/AdminStoragePage';
import { AdminRunPage } from './pages/AdminRunPage';
import { AdminWorkersPage } from './pages/AdminWorkersPage';
import { NotificationsPage } from './pages/NotificationsPage';

/** The dashboard: sign-in, or the signed-in shell. */
export function App() {
  return (
    <SessionProvider
      signedOut={(done) => <SignIn onSignedIn={done} />}
      loading={<main className="page"><Loading what="your session" /></main>}
      failed={(err, retry) => <main className="page"><ErrorBox error={err} retry={retry} title="Cannot load your session" /></main>}
    >
      <Shell />
    </SessionProvider>
  );
}

function Shell() {
  const path = usePath();
  // After a page change, move focus to the page (screen readers announce it) unless something on it took focus.
  useEffect(() => {
    const t = setTimeout(() => {
      const a = document.activeElement;
      if (!a || a === document.body) document.getElementById('main')?.focus({ preventScroll: true });
    }, 0);
    return () => clearTimeout(t);
  }, [path]);
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <Header />
      <main className="page" id="main" tabIndex={-1}>
        <Routes />
      </main>
    </>
  );
}

type Page = { pattern: string; render: (p: Record<string, string>) => ReactElement };
const PAGES: Page[] = [
  { pattern: '/accounts/new', render: () => <NewAccountPage /> },
  { pattern: '/a/:ns', render: (p) => <AppsPage ns={p.ns!} /> },
  { pattern: '/a/:ns/members', render: (p) => <MembersPage ns={p.ns!} /> },
  { pattern: '/a/:ns/settings', render: (p) => <SettingsPage ns={p.ns!} /> },
  { pattern: '/a/:ns/storage', render: (p) => <StoragePage ns={p.ns!} /> },
  { pattern: '/a/:ns/notifications', render: (p) => <NotificationsPage ns={p.ns!} /> },
  { pattern: '/admin/storage', render: () => <AdminStoragePage /> },
  { pattern: '/admin/workers', render: () => <AdminWorkersPage /> },
  { pattern: '/admin/storage/runs/:id', render: (p) => <AdminRunPage id={p.id!} /> },
  { pattern: '/a/:ns/apps/:app', render: (p) => <AppPage ns={p.ns!} app={p.app!} /> },
  { pattern: '/a/:ns/apps/:app/services/new', render: (p) => <ServicePage ns={p.ns!} app={p.app!} /> },
  { pattern: '/a/:ns/apps/:app/services/:service', render: (p) => <ServicePage ns={p.ns!} app={p.app!} service={p.service} /> },
  { pattern: '/a/:ns/apps/:app/builds/:id', render: (p) => <BuildPage ns={p.ns!} app={p.app!} id={p.id!} /> },
];

function Routes() {
  const path = usePath();
  const s = useSession();
  const seg = /^\/a\/([^/]+)/.exec(path)?.[1];
  const urlNs = seg ? decodeURIComponent(seg) : null;

  // The account in the URL becomes the current one (so the switcher and the nav follow links).
  useEffect(() => {
    if (urlNs && urlNs !== s.current?.namespace && s.accounts.some((a) => a.namespace === urlNs)) s.choose(urlNs);
  }, [urlNs, s]);

  useEffect(() => {
    if (path === '/' || path === '') {
      if (s.current) navigate(paths.apps(s.current.namespace), { replace: true });
      else navigate(paths.newAccount(), { replace: true });
    }
  }, [path, s.current]);

  useEffect(() => {
    const h = document.querySelector('main h1');
    document.title = h?.textContent ? `${h.textContent} · BuildGrid` : 'BuildGrid';
  });

  for (const p of PAGES) {
    const m = match(p.pattern, path);
    if (m) return p.render(m);
  }
  if (path === '/' || path === '') return <Loading what="your applications" />;
  return (
    <section>
      <h1>Page not found</h1>
      <p>There is no page at <code>{path}</code>. <a href="/">Go to your applications</a>.</p>
    </section>
  );
}
