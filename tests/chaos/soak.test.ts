/** The short soak CI runs: the same faults under load as `npm run chaos:soak`, a few hundred uploads. */
import { expect, it } from 'vitest';
import { runSoak } from './soak.js';

it('loses nothing while the optimizer is killed every 2 s and the broker is killed once', async () => {
  const row = await runSoak({ uploads: 300, concurrency: 6, killOptimizerEveryMs: 2_000 });
  expect(row.violations).toEqual([]);
  expect(row.lost).toBe(0);
  expect(row.uploads).toBe(300);
  // Both paths were exercised: optimized directly, and queued around the optimizer's deaths.
  expect(row.accepted - row.queued).toBeGreaterThan(0);
  expect(row.queued).toBeGreaterThan(0);
}, 300_000);
