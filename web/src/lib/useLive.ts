import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { subscribe } from '../api/sse';

/** The state of a live connection, for a small indicator. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'off';

/**
 * Follows the application's event stream (/accounts/:ns/apps/:app/events) and calls `onChange` (debounced) whenever
 * something in the timeline changed: a build was queued, started, changed phase or finished; a deployment started or ended.
 */
export function useAppEvents(ns: string, app: string, onChange: () => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const cb = useRef(onChange);
  cb.current = onChange;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bump = () => {
      clearTimeout(timer);
      timer = setTimeout(() => cb.current(), 250);
    };
    setState('connecting');
    const stop = subscribe(`/api/v1/accounts/${encodeURIComponent(ns)}/apps/${encodeURIComponent(app)}/events`, {
      onOpen: (again) => {
        setState('live');
        // After a drop, reload once: events may have been missed while the stream resumes.
        if (again) bump();
      },
      // The stream begins by replaying the app's stored events; the debounce folds that replay into one reload.
      onEvent: bump,
      onError: (err) => setState(err instanceof ApiError && [401, 403, 404].includes(err.status) ? 'off' : 'reconnecting'),
    });
    return () => {
      clearTimeout(timer);
      stop();
      setState('off');
    };
  }, [ns, app]);
  return state;
}
