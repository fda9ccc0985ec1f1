/** Build and deployment statuses, grouped the way the dashboard shows them. */
export type Tone = 'ok' | 'bad' | 'run' | 'wait' | 'off';

const TONES: Record<string, Tone> = {
  succeeded: 'ok', failed: 'bad', cancelled: 'off', queued: 'wait',
  running: 'run', fetching: 'run', building: 'run', pushing: 'run',
};

/** The tone of a status (unknown statuses are neutral). */
export const toneOf = (status: string): Tone => TONES[status] ?? 'off';

/** True while the build or deployment may still change. */
export const isActive = (status: string): boolean => toneOf(status) === 'run' || toneOf(status) === 'wait';

const TRIGGERS: Record<string, string> = { web: 'the dashboard', cli: 'the CLI', api: 'the API', webhook: 'a webhook', poll: 'polling' };

/** How work was started, in words ("the dashboard", "a webhook"…). */
export const triggerLabel = (trigger: string): string => TRIGGERS[trigger] ?? trigger;

/** "Succeeded", "Building", … */
export const labelOf = (status: string): string => status.charAt(0).toUpperCase() + status.slice(1);
