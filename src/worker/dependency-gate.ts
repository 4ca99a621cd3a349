/**
 * Waits for a dependency to answer again, probing it on a timer: no sleep in the consumer, no
 * busy loop. All jobs that hit the same outage share one gate, so there is one probe per interval.
 */
export type Probe = () => Promise<boolean>;

export class DependencyGate {
  private waiting: Promise<void> | undefined;
  private release: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly probe: Probe,
    private readonly intervalMs: number,
  ) {}

  /** Resolves once the probe succeeds, or when `cancel` is called (shutdown). */
  waitUntilOpen(): Promise<void> {
    this.waiting ??= new Promise<void>((resolve) => {
      this.release = () => {
        clearTimeout(this.timer);
        this.waiting = undefined;
        this.release = undefined;
        resolve();
      };
      const check = async () => {
        const open = await this.probe().catch(() => false);
        if (open) this.release?.();
        else if (this.release) this.timer = setTimeout(() => void check(), this.intervalMs);
      };
      this.timer = setTimeout(() => void check(), this.intervalMs);
    });
    return this.waiting;
  }

  cancel(): void {
    this.release?.();
  }
}
