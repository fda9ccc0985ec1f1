import type { LiveState } from '../lib/useLive';

const TEXT: Record<LiveState, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', off: 'Not live' };

/** Whether the page is receiving live updates. */
export function LiveDot({ state }: { state: LiveState }) {
  return (
    <span className={`live live-${state}`} role="status" aria-live="polite">
      <span className="live-dot" aria-hidden="true" />
      {TEXT[state]}
    </span>
  );
}
