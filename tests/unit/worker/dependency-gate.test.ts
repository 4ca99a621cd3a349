/** DependencyGate on a fake clock: one probe per interval, shared by every waiter, released by cancel. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DependencyGate } from '../../../src/worker/dependency-gate.js';

const INTERVAL = 1_000;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A probe that answers from `answers` in turn (the last one repeats), counting its calls. */
function probe(...answers: (boolean | Error)[]) {
  const fn = vi.fn(async () => {
    const answer = answers[Math.min(fn.mock.calls.length - 1, answers.length - 1)];
    if (answer instanceof Error) throw answer;
    return answer ?? false;
  });
  return fn;
}

function watch(promise: Promise<void>): { done: boolean } {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
}

describe('DependencyGate', () => {
  it('probes once per interval and opens on the first success', async () => {
    const check = probe(false, false, true);
    const wait = watch(new DependencyGate(check, INTERVAL).waitUntilOpen());

    await vi.advanceTimersByTimeAsync(INTERVAL - 1);
    expect(check).not.toHaveBeenCalled(); // the first probe waits an interval: the failure just happened
    await vi.advanceTimersByTimeAsync(INTERVAL + 1);
    expect(check).toHaveBeenCalledTimes(2);
    expect(wait.done).toBe(false);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(check).toHaveBeenCalledTimes(3);
    expect(wait.done).toBe(true);
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(check).toHaveBeenCalledTimes(3);
  });

  it('gives every waiter the same wait, so an outage costs one probe per interval', async () => {
    const check = probe(false, true);
    const gate = new DependencyGate(check, INTERVAL);
    const first = gate.waitUntilOpen();
    const second = gate.waitUntilOpen();
    expect(second).toBe(first);

    await vi.advanceTimersByTimeAsync(2 * INTERVAL);
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(check).toHaveBeenCalledTimes(2);
  });

  it('counts a probe that throws as closed, and keeps probing', async () => {
    const check = probe(new Error('ECONNREFUSED'), true);
    const wait = watch(new DependencyGate(check, INTERVAL).waitUntilOpen());
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(wait.done).toBe(false);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    expect(wait.done).toBe(true);
  });

  it('releases its waiters on cancel and stops probing', async () => {
    const check = probe(false);
    const gate = new DependencyGate(check, INTERVAL);
    const wait = watch(gate.waitUntilOpen());
    await vi.advanceTimersByTimeAsync(INTERVAL);
    gate.cancel();
    await vi.advanceTimersByTimeAsync(0);
    expect(wait.done).toBe(true);
    await vi.advanceTimersByTimeAsync(10 * INTERVAL);
    expect(check).toHaveBeenCalledTimes(1);
    gate.cancel(); // nothing to release: harmless
  });

  it('starts a new wait after it opened', async () => {
    const check = probe(true);
    const gate = new DependencyGate(check, INTERVAL);
    const first = gate.waitUntilOpen();
    await vi.advanceTimersByTimeAsync(INTERVAL);
    await first;
    const second = gate.waitUntilOpen();
    expect(second).not.toBe(first);
    await vi.advanceTimersByTimeAsync(INTERVAL);
    await second;
    expect(check).toHaveBeenCalledTimes(2);
  });
});
