import { useEffect, useState } from 'react';
import { api, call } from '../api/client';
import type { Credentials } from '../api/types';

/** The caller's BuildGrid credentials, fetched once per page load and shared (updated after a rotation). */
let cached: Promise<Credentials> | null = null;
const listeners = new Set<(c: Credentials) => void>();

export function loadCredentials(force = false): Promise<Credentials> {
  if (!cached || force) {
    cached = call(api.GET('/api/v1/credentials'));
    cached.catch(() => { cached = null; });
  }
  return cached;
}

/** Replaces the shared copy (after a rotation). */
export function setCredentials(c: Credentials): void {
  cached = Promise.resolve(c);
  for (const l of listeners) l(c);
}

/** Forgets the shared copy (sign out). */
export function forgetCredentials(): void {
  cached = null;
}

/** The credentials, or undefined while loading or when they cannot be read. */
export function useCredentials(): Credentials | undefined {
  const [c, setC] = useState<Credentials>();
  useEffect(() => {
    let live = true;
    loadCredentials().then((x) => live && setC(x), () => undefined);
    listeners.add(setC);
    return () => {
      live = false;
      listeners.delete(setC);
    };
  }, []);
  return c;
}
