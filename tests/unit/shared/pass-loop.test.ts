import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PassLoop } from '../../../src/shared/pass-loop.js';

/** A pass that stays in flight until the test finishes it. */
function controllablePasses() {
  const log: string[] = [];
  let finish: (() => void) | undefined;
  let inFlight = 0;
  const pass = () => {
    inFlight += 1;
    log.push(`start(${inFlight} in flight)`);
    return new Promise<void>((resolve) => {
      finish = () => {
        inFlight -= 1;
        log.push('end');
        resolve();
      };
    });
  };
  return { log, pass, finish: () => finish?.() };
}

/** A loop of controllable passes, started, its first pass begun. */
async function started(delayMs: number) {
  const p = controllablePasses();
  const loop = new PassLoop(p.pass, () => delayMs);
  loop.start();
  await vi.advanceTimersByTimeAsync(0);
  return { p, loop };
}

async function finishThenStop(p: { finish: () => void }, loop: PassLoop): Promise<void> {
  p.finish();
  await loop.stop();
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('PassLoop', () => {
  it('runs a pass at once on start, then one per delay', async () => {
    const { p, loop } = await started(1_000);
    expect(p.log).toEqual(['start(1 in flight)']);
    p.finish();
    await vi.advanceTimersByTimeAsync(999);
    expect(p.log).toEqual(['start(1 in flight)', 'end']);
    await vi.advanceTimersByTimeAsync(1);
    expect(p.log).toEqual(['start(1 in flight)', 'end', 'start(1 in flight)']);
    await finishThenStop(p, loop);
  });

  it('runs a pass asked for during one right after it, never beside it', async () => {
    const { p, loop } = await started(60_000);
    loop.now();
    await vi.advanceTimersByTimeAsync(0);
    expect(p.log).toEqual(['start(1 in flight)']);
    p.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(p.log).toEqual(['start(1 in flight)', 'end', 'start(1 in flight)']);
    await finishThenStop(p, loop);
  });

  it('stop waits for the pass in flight, and no pass follows', async () => {
    const { p, loop } = await started(10);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    p.finish();
    await stopping;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(p.log).toEqual(['start(1 in flight)', 'end']);
    loop.now();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(p.log).toEqual(['start(1 in flight)', 'end']);
  });

  it('starts once however often start is called, and again after a stop', async () => {
    const p = controllablePasses();
    const loop = new PassLoop(p.pass, () => 60_000);
    loop.start();
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(p.log).toEqual(['start(1 in flight)']);
    p.finish();
    await loop.stop();
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(p.log).toEqual(['start(1 in flight)', 'end', 'start(1 in flight)']);
    await finishThenStop(p, loop);
  });
});
