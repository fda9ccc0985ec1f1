import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, call, forgetStoredToken, setCsrfToken, setUnauthorizedHandler, signedIn } from '../api/client';
import type { Account, Me, Role } from '../api/types';
import { forgetCredentials } from './credentials';

/** The signed-in user, the accounts they can see, and the one they are working in. */
export interface Session {
  me: Me;
  accounts: Account[];
  /** The account of the page (from the URL) or the last one chosen. */
  current: Account | null;
  choose(namespace: string): void;
  /** Reloads the user and accounts (after creating an account, changing roles…). */
  refresh(): Promise<void>;
  signOut(): Promise<void>;
  /** Whether the user has at least `min` role in `account` (administrators always do). */
  can(account: Account | null, min: Role): boolean;
}

const RANK: Record<Role, number> = { viewer: 1, developer: 2, owner: 3 };
const CURRENT_KEY = 'buildgrid.account';
const Ctx = createContext<Session | null>(null);

/** The session; only inside <SessionProvider> once signed in. */
export function useSession(): Session {
  const s = useContext(Ctx);
  if (!s) throw new Error('useSession outside a signed-in session');
  return s;
}

async function loadSession(): Promise<{ me: Me; accounts: Account[] }> {
  const me = await call(api.GET('/api/v1/me'));
  const accounts = await call(api.GET('/api/v1/accounts'));
  return { me, accounts: [...accounts].sort((a, b) => a.namespace.localeCompare(b.namespace)) };
}

/** Loads the session of the browser's cookie; renders `signedOut` without one (or when it stops working). */
export function SessionProvider(props: { children: ReactNode; signedOut: (onSignedIn: () => void) => ReactNode; loading: ReactNode; failed: (err: unknown, retry: () => void) => ReactNode }) {
  const [state, setState] = useState<{ me: Me; accounts: Account[] } | null>(null);
  const [status, setStatus] = useState<'loading' | 'out' | 'in' | 'failed'>('loading');
  const [failure, setFailure] = useState<unknown>();
  const [chosen, setChosen] = useState<string | null>(() => localStorage.getItem(CURRENT_KEY));

  const refresh = useCallback(async () => {
    try {
      if (!signedIn()) setCsrfToken((await call(api.GET('/api/v1/auth/session'))).csrfToken);
      setState(await loadSession());
      setStatus('in');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        setCsrfToken(null);
        setStatus('out');
      } else {
        setFailure(err);
        setStatus('failed');
      }
    }
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrfToken(null);
      forgetCredentials();
      setState(null);
      setStatus('out');
    });
    forgetStoredToken();
    void refresh();
  }, [refresh]);

  const signOut = useCallback(async () => {
    await api.POST('/api/v1/auth/logout').catch(() => undefined); // revokes the session and clears its cookie
    setCsrfToken(null);
    forgetCredentials();
    setState(null);
    setStatus('out');
  }, []);

  const session = useMemo<Session | null>(() => {
    if (!state) return null;
    const current = state.accounts.find((a) => a.namespace === chosen) ?? state.accounts.find((a) => a.role) ?? state.accounts[0] ?? null;
    return {
      ...state,
      current,
      choose(ns) {
        localStorage.setItem(CURRENT_KEY, ns);
        setChosen(ns);
      },
      refresh,
      signOut,
      can(account, min) {
        if (state.me.isAdmin) return true;
        const role = account ? state.accounts.find((a) => a.id === account.id)?.role ?? account.role : null;
        return !!role && RANK[role] >= RANK[min];
      },
    };
  }, [state, chosen, refresh, signOut]);

  if (status === 'out') return <>{props.signedOut(() => { setStatus('loading'); void refresh(); })}</>;
  if (status === 'failed') return <>{props.failed(failure, () => { setStatus('loading'); void refresh(); })}</>;
  if (!session) return <>{props.loading}</>;
  return <Ctx.Provider value={session}>{props.children}</Ctx.Provider>;
}
