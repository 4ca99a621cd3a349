import { describe, expect, it } from 'vitest';
import { debouncer } from '../../../src/web/src/debounce.js';
import { FakeClock } from './fakes.js';

describe('debouncer', () => {
  it('runs only the last call, once the calls pause for the delay', async () => {
    const clock = new FakeClock();
    const runs: string[] = [];
    const debounce = debouncer(400, clock);
    debounce.schedule(() => runs.push('A'));
    await clock.advance(399);
    debounce.schedule(() => runs.push('AC'));
    await clock.advance(399);
    expect(runs).toEqual([]);
    await clock.advance(1);
    expect(runs).toEqual(['AC']);
    expect(clock.timers).toEqual([]);
  });

  it('drops a scheduled call when cancelled', async () => {
    const clock = new FakeClock();
    const runs: number[] = [];
    const debounce = debouncer(400, clock);
    debounce.schedule(() => runs.push(1));
    debounce.cancel();
    await clock.advance(1000);
    expect(runs).toEqual([]);
  });
});
