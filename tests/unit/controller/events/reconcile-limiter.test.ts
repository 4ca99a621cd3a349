/** The backlog-signal rate limit with a fake clock: at once after a quiet interval, then one trailing fire per interval. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReconcileLimiter } from '../../../../src/controller/events/reconcile-limiter.js';
import { elapse, useFakeClock } from '../../../helpers/fake-clock.js';

let fired: number[];
let limiter: ReconcileLimiter;

beforeEach(() => {
  useFakeClock('2030-01-01T00:00:00.000Z');
  fired = [];
  limiter = new ReconcileLimiter(500, () => fired.push(Date.now() - Date.parse('2030-01-01T00:00:00.000Z')));
});
afterEach(() => {
  limiter.cancel();
  vi.useRealTimers();
});

describe('ReconcileLimiter', () => {
  it('fires at once on the first signal', () => {
    limiter.signal();
    expect(fired).toEqual([0]);
  });

  it('collapses a burst into one trailing fire at the end of the interval', async () => {
    for (let i = 0; i < 100; i += 1) limiter.signal();
    await elapse(200);
    limiter.signal();
    expect(fired).toEqual([0]);
    await elapse(299);
    expect(fired).toEqual([0]);
    await elapse(1);
    expect(fired).toEqual([0, 500]);
  });

  it('never fires twice within an interval, however the signals come', async () => {
    for (let t = 0; t < 5_000; t += 37) {
      limiter.signal();
      await elapse(37);
    }
    const gaps = fired.slice(1).map((at, i) => at - fired[i]!);
    expect(gaps.every((gap) => gap >= 500)).toBe(true);
    expect(fired.length).toBeGreaterThanOrEqual(9);
  });

  it('fires at once again after a quiet interval, and not at all after cancel', async () => {
    limiter.signal();
    await elapse(800);
    limiter.signal();
    expect(fired).toEqual([0, 800]);
    limiter.signal();
    limiter.cancel();
    await elapse(1_000);
    expect(fired).toEqual([0, 800]);
  });
});
