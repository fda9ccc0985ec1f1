/**
 * Collects a build's output lines and hands them to `sink` (which stores them and fans them out to live followers)
 * in small batches, every 150 ms, one batch at a time and in order. `flush()` hands over whatever is pending.
 */
export class LogBuffer {
  private pending: Array<{ text: string; phase?: string }> = [];
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly sink: (lines: Array<{ text: string; phase?: string }>) => Promise<void>) {}

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
    this.chain = this.chain.then(() => this.sink(batch)).catch(() => undefined);
    return this.chain;
  }
}
