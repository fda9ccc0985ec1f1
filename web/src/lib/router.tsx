import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/** A tiny history router: the path is the state; links push it; the back button pops it. */

const CHANGE = 'buildgrid:navigate';
const listen = (fn: () => void) => {
  window.addEventListener('popstate', fn);
  window.addEventListener(CHANGE, fn);
  return () => {
    window.removeEventListener('popstate', fn);
    window.removeEventListener(CHANGE, fn);
  };
};

/** The current path (without query or hash). */
export function usePath(): string {
  return useSyncExternalStore(listen, () => window.location.pathname);
}

/** Goes to `to` (a path of the dashboard). */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === window.location.pathname) return;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new Event(CHANGE));
  window.scrollTo(0, 0);
}

/** The parameters of `path` when it matches `pattern` (segments like `:name`), else null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split('/').filter(Boolean);
  const xs = path.replace(/\/+$/, '').split('/').filter(Boolean);
  if (ps.length !== xs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i]!.startsWith(':')) out[ps[i]!.slice(1)] = decodeURIComponent(xs[i]!);
    else if (ps[i] !== xs[i]) return null;
  }
  return out;
}

/** An <a> that navigates inside the dashboard (ctrl/cmd/middle clicks still open a new tab). */
export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const go = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={go} {...rest} />;
}

/** Path helpers, so links are spelled once. */
export const paths = {
  apps: (ns: string) => `/a/${encodeURIComponent(ns)}`,
  app: (ns: string, app: string) => `/a/${encodeURIComponent(ns)}/apps/${encodeURIComponent(app)}`,
  newService: (ns: string, app: string) => `${paths.app(ns, app)}/services/new`,
  service: (ns: string, app: string, svc: string) => `${paths.app(ns, app)}/services/${encodeURIComponent(svc)}`,
  build: (ns: string, app: string, id: string) => `${paths.app(ns, app)}/builds/${encodeURIComponent(id)}`,
  members: (ns: string) => `/a/${encodeURIComponent(ns)}/members`,
  settings: (ns: string) => `/a/${encodeURIComponent(ns)}/settings`,
  storage: (ns: string) => `/a/${encodeURIComponent(ns)}/storage`,
  notifications: (ns: string) => `/a/${encodeURIComponent(ns)}/notifications`,
  adminStorage: () => '/admin/storage',
  adminWorkers: () => '/admin/workers',
  adminRun: (id: string) => `/admin/storage/runs/${encodeURIComponent(id)}`,
  newAccount: () => '/accounts/new',
};
