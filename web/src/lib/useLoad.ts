import { useCallback, useEffect, useRef, useState } from 'react';

/** What useLoad returns. */
export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again, keeping the current data on screen until the new data arrives. */
  reload(): Promise<void>;
  setData(d: T): void;
}

/** Runs `load` when `key` changes (and on reload); stale answers for an older key are dropped. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const current = useRef(key);
  const fn = useRef(load);
  fn.current = load;

  const reload = useCallback(async () => {
    const k = current.current;
    try {
      const d = await fn.current();
      if (current.current !== k) return;
      setData(d);
      setError(undefined);
    } catch (err) {
      if (current.current === k) setError(err);
    } finally {
      if (current.current === k) setLoading(false);
    }
  }, []);

  useEffect(() => {
    current.current = key;
    setData(undefined);
    setError(undefined);
    setLoading(true);
    void reload();
  }, [key, reload]);

  return { data, error, loading, reload, setData };
}
