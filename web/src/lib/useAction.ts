import { useCallback, useState } from 'react';

/** What useAction returns. */
export interface Action {
  /** True while a run is going (for a disabled button and "Working…"). */
  busy: boolean;
  /** The last run's failure (undefined after a success or a new start). */
  error: unknown;
  setError(err: unknown): void;
  /** Runs `fn`, keeping busy and error; never throws (the failure lands in `error`). Resolves true on success. */
  run(fn: () => Promise<unknown>): Promise<boolean>;
}

/** State for a form or button that calls the API: busy while it runs, the error it ended with. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = useCallback(async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}
