/**
 * At most one extra reconcile per interval for one scaler, whatever the rate of backlog signals:
 * the first signal after a quiet interval fires at once (the reaction is what it is for), later
 * ones within the interval collapse into one trailing fire at its end, so the last job of a burst
 * is still seen before the next poll. Timers and clock are the global ones (faked in tests).
 */
export class ReconcileLimiter {
  private last = -Infinity;
  private trailing: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly fire: () => void,
  ) {}

  signal(): void {
    if (this.trailing) return; // one is already due at the end of the interval
    const wait = this.last + this.intervalMs - Date.now();
    if (wait <= 0) {
      this.run();
      return;
    }
    this.trailing = setTimeout(() => {
      this.trailing = undefined;
      this.run();
    }, wait);
  }

  cancel(): void {
    clearTimeout(this.trailing);
    this.trailing = undefined;
  }

  private run(): void {
    this.last = Date.now();
    this.fire();
  }
}
