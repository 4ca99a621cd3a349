import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/shared/backoff.js';

const delays = [100, 250, 500, 1_000];

describe('backoffDelay', () => {
  it('picks the delay of the attempt, the last one repeating', () => {
    expect([0, 1, 2, 3, 4, 50].map((attempt) => backoffDelay(delays, attempt, 7))).toEqual([100, 250, 500, 1_000, 1_000, 1_000]);
  });

  it('counts a negative attempt as the first', () => {
    expect(backoffDelay(delays, -3, 7)).toBe(100);
  });

  it('answers the caller’s fallback for an empty table', () => {
    expect(backoffDelay([], 0, 5_000)).toBe(5_000);
    expect(backoffDelay([], 9, 1_000)).toBe(1_000);
  });

  const table = fc.array(fc.nat({ max: 600_000 }), { minLength: 1, maxLength: 12 });
  const attempt = fc.integer({ min: -5, max: 1_000 });

  it('always answers one of the delays', () => {
    fc.assert(fc.property(table, attempt, (ds, n) => ds.includes(backoffDelay(ds, n, -1))));
  });

  it('never decreases with the attempt when the delays do not', () => {
    const sorted = table.map((ds) => [...ds].sort((a, b) => a - b));
    fc.assert(
      fc.property(sorted, attempt, attempt, (ds, a, b) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        return backoffDelay(ds, low, -1) <= backoffDelay(ds, high, -1);
      }),
    );
  });

  it('repeats the last delay for every attempt past the table', () => {
    fc.assert(fc.property(table, fc.nat({ max: 1_000 }), (ds, extra) => backoffDelay(ds, ds.length - 1 + extra, -1) === ds.at(-1)));
  });
});
