import { describe, expect, it } from 'vitest';
import { OptimizerHealth, type HealthClock } from '../../../src/shared/optimizer-health.js';

/** A clock the test moves by hand; the probe loop's interval fires when told. */
function manualClock() {
  let now = 0;
  let tick: (() => void) | undefined;
  const clock: HealthClock = {
    now: () => now,
    setInterval: (callback) => ((tick = callback), 1),
    clearInterval: () => (tick = undefined),
  };
  return { clock, advance: (ms: number) => (now += ms), tick: () => tick?.(), running: () => tick !== undefined };
}

/** A probe the test answers: each call waits until `answer` or `fail` settles the oldest one. */
function scriptedProbe() {
  const waiting: { resolve: (answered: boolean) => void; signal: AbortSignal }[] = [];
  const probe = (signal: AbortSignal) => new Promise<boolean>((resolve) => waiting.push({ resolve, signal }));
  return {
    probe,
    waiting,
    answer: async () => {
      waiting.shift()?.resolve(true);
      await Promise.resolve();
    },
  };
}

describe('OptimizerHealth', () => {
  it('is not stalled before its first probe, nor while the optimizer answers', async () => {
    const { clock, advance, tick } = manualClock();
    const { probe, answer } = scriptedProbe();
    const health = new OptimizerHealth({ probe, intervalMs: 250, stallMs: 1_000, clock });
    health.start();
    expect(health.stalled).toBe(false);
    for (let i = 0; i < 8; i++) {
      advance(250);
      await answer();
      tick();
    }
    expect(health.stalled).toBe(false);
    expect(health.silentForMs).toBe(0);
  });

  it('counts as stalled once no probe was answered for stallMs, and recovers on the next answer', async () => {
    const { clock, advance, tick } = manualClock();
    const { probe, answer, waiting } = scriptedProbe();
    const health = new OptimizerHealth({ probe, intervalMs: 250, stallMs: 1_000, clock });
    health.start();
    await answer();
    // The optimizer stops: probes pile up unanswered.
    for (let i = 0; i < 3; i++) {
      advance(250);
      tick();
    }
    expect(health.stalled).toBe(false);
    advance(250);
    tick();
    expect(health.stalled).toBe(true);
    expect(waiting.length).toBeGreaterThanOrEqual(4);
    await answer();
    expect(health.stalled).toBe(false);
  });

  it('abandons a call only when the call and the silence have both lasted stallMs', async () => {
    const { clock, advance, tick } = manualClock();
    const { probe, answer } = scriptedProbe();
    const health = new OptimizerHealth({ probe, intervalMs: 250, stallMs: 1_000, clock });
    health.start();
    await answer();
    const slowButHealthy = clock.now();
    for (let i = 0; i < 8; i++) {
      advance(250);
      await answer();
      tick();
    }
    expect(health.abandons(slowButHealthy)).toBe(false);
    // Silence from here on; a call that starts late in it waits its own stallMs.
    advance(900);
    const late = clock.now();
    advance(100);
    expect(health.stalled).toBe(true);
    expect(health.abandons(slowButHealthy)).toBe(true);
    expect(health.abandons(late)).toBe(false);
    advance(900);
    expect(health.abandons(late)).toBe(true);
  });

  it('stops its loop and aborts the probes still waiting', () => {
    const { clock, tick, running } = manualClock();
    const { probe, waiting } = scriptedProbe();
    const health = new OptimizerHealth({ probe, intervalMs: 250, stallMs: 1_000, clock });
    health.start();
    tick();
    health.stop();
    expect(running()).toBe(false);
    expect(waiting.every((w) => w.signal.aborted)).toBe(true);
  });
});
