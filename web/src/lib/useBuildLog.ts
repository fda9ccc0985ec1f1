import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { subscribe } from '../api/sse';
import type { LogLine } from '../api/types';
import type { LiveState } from './useLive';

/** The log of a build as it streams, and what the stream says about the build. */
export interface BuildLog {
  lines: LogLine[];
  state: LiveState;
  /** Set when the stream ended: the build's final status. */
  ended: { status: string; error: string | null } | null;
}

/**
 * Follows /builds/:id/log/stream: the stored lines, then new ones as they are written, until the build ends.
 * Lines are applied in batches (every 50 ms) so a fast build does not re-render per line. `onStatus` is called when
 * the build changes phase or ends.
 */
export function useBuildLog(id: string, onStatus: () => void): BuildLog {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<LiveState>('connecting');
  const [ended, setEnded] = useState<BuildLog['ended']>(null);
  const cb = useRef(onStatus);
  cb.current = onStatus;

  useEffect(() => {
    setLines([]);
    setEnded(null);
    setState('connecting');
    let pending: LogLine[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const add = pending;
      pending = [];
      setLines((old) => old.concat(add));
    };
    const stop = subscribe(`/api/v1/builds/${encodeURIComponent(id)}/log/stream`, {
      onOpen: () => setState('live'),
      onEvent: (event, data) => {
        if (event === 'line') {
          pending.push(data as LogLine);
          if (!frame) frame = window.setTimeout(flush, 50);
        } else if (event === 'status') {
          cb.current();
        } else if (event === 'end') {
          if (frame) clearTimeout(frame);
          flush();
          setEnded(data as { status: string; error: string | null });
          setState('off');
          stop();
          cb.current();
        }
      },
      onError: (err) => setState(err instanceof ApiError && [401, 403, 404].includes(err.status) ? 'off' : 'reconnecting'),
    });
    return () => {
      if (frame) clearTimeout(frame);
      stop();
    };
  }, [id]);

  return { lines, state, ended };
}
