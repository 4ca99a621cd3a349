/**
 * Fake timers for unit tests of timer-driven classes (ScalerLoop, LeaseElector) whose fakes answer
 * at once: the test moves the clock, and waits for what the fired timer started, not for real time.
 */
import { vi } from 'vitest';

/** Fakes setTimeout and Date from `startIso`. setImmediate stays real: it is how `elapse` waits. */
export function useFakeClock(startIso: string): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(new Date(startIso));
}

/** Moves the fake clock by `ms`, then lets the work the fired timers started finish. */
export async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  // One real macrotask: every promise chain the fakes resolved at once has run by then.
  await new Promise<void>((resolve) => setImmediate(resolve));
}
