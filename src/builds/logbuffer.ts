import type { LogStore } from '../storage/logs.ts';
import type { EventBus } from '../events/bus.ts';
import type { Build } from '../metadata/types.ts';

/**
 * Collects a build's output lines and writes them to the log store in small batches (every 150 ms), fanning each
 * stored batch out to live followers. `flush()` writes whatever is pending.
 */
export class LogBuffer {
  private pending: Array<{ text: string; phase?: string }> = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly opts: { build: Build; logs: LogStore; events: EventBus }) {}

  /** Queues a line; `phase` marks the start of a phase section. */
  line(text: string, phase?: string): void {
    this.pending.push(phase ? { text, phase } : { text });
    if (!this.timer) this.timer = setTimeout(() => void this.flush(), 150);
  }

  /** Writes pending lines; resolves when they are stored. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.chain;
    const { build, logs, events } = this.opts;
    this.chain = this.chain.then(async () => {
      const stored = await logs.append(build.id, batch);
      if (stored.length) {
        events.publish({ kind: 'build.log', accountId: build.accountId, applicationId: build.applicationId, buildId: build.id, payload: { lines: stored } });
      }
    }).catch(() => undefined);
    return this.chain;
  }
}
