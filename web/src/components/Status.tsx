import { labelOf, toneOf, type Tone } from '../lib/status';

const PATHS: Record<Tone, string> = {
  ok: 'M3.5 8.5l3 3 6-7',
  bad: 'M4.5 4.5l7 7M11.5 4.5l-7 7',
  run: 'M8 2.5a5.5 5.5 0 1 1-5.5 5.5',
  wait: 'M8 4.5V8l2.5 1.5M8 2.5a5.5 5.5 0 1 0 0 11a5.5 5.5 0 0 0 0-11z',
  off: 'M8 2.5a5.5 5.5 0 1 0 0 11a5.5 5.5 0 0 0 0-11zM4.2 11.8l7.6-7.6',
};

/** The icon of a status tone (decorative: the text next to it says the same). */
export function StatusIcon({ tone }: { tone: Tone }) {
  return (
    <svg className={`icon icon-${tone}${tone === 'run' ? ' spin' : ''}`} viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
      <path d={PATHS[tone]} fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

/** A status as colour, icon and text together. */
export function StatusBadge({ status, label }: { status: string; label?: string }) {
  const tone = toneOf(status);
  return (
    <span className={`badge badge-${tone}`} data-status={status}>
      <StatusIcon tone={tone} />
      {label ?? labelOf(status)}
    </span>
  );
}
