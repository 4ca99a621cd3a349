/**
 * A loop of passes on a timer: a pass now, then another after the delay `nextDelayMs` names, one
 * pass at a time, until stopped. A pass asked for while one runs (`now()`) runs right after it
 * instead of beside it, and `stop()` waits for the pass in flight, so whoever stops the loop knows
 * no pass is still writing. The scaler loop and the lease elector both run on it.
 */
export class PassLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private stopped = true;

  /** `pass` must not reject: it handles its own errors (a loop has nobody to throw to). */
  constructor(
    private readonly pass: () => Promise<void>,
    private readonly nextDelayMs: () => number,
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** A pass as soon as possible: at once, or right after the one in flight. */
  now(): void {
    if (!this.stopped) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = this.pass();
    await this.running;
    this.running = undefined;
    const again = this.rerun;
    this.rerun = false;
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run while the pass was awaited
    if (!this.stopped) this.schedule(again ? 0 : this.nextDelayMs());
  }
}
