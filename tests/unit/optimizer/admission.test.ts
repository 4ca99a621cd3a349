import { describe, expect, it } from 'vitest';
import { AdmissionGate, SaturatedError } from '../../../src/optimizer/admission.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets already-settled promise reactions run, without any timer. */
async function flush(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('AdmissionGate', () => {
  it('runs up to `concurrency` tasks at once and queues the next ones', async () => {
    const gate = new AdmissionGate({ concurrency: 2, maxWaiting: 1 });
    const tasks = [deferred<string>(), deferred<string>(), deferred<string>()];
    const started: number[] = [];
    const results = tasks.map((task, i) =>
      gate.tryRun(() => {
        started.push(i);
        return task.promise;
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect(gate.running).toBe(2);
    expect(gate.waiting).toBe(1);

    tasks[0]!.resolve('a');
    await flush();
    expect(started).toEqual([0, 1, 2]);
    expect(gate.running).toBe(2);
    expect(gate.waiting).toBe(0);

    tasks[1]!.resolve('b');
    tasks[2]!.resolve('c');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    expect(gate.running).toBe(0);
  });

  it('refuses at once with SaturatedError when running and waiting are full', async () => {
    const gate = new AdmissionGate({ concurrency: 1, maxWaiting: 1 });
    const first = deferred();
    const running = gate.tryRun(() => first.promise);
    const waiting = gate.tryRun(async () => 'queued');
    expect(gate.saturated).toBe(true);
    let called = false;
    await expect(
      gate.tryRun(async () => {
        called = true;
      }),
    ).rejects.toBeInstanceOf(SaturatedError);
    expect(called).toBe(false);
    first.resolve();
    await running;
    expect(await waiting).toBe('queued');
    expect(gate.saturated).toBe(false);
  });

  it('with maxWaiting 0 refuses anything beyond the running tasks', async () => {
    const gate = new AdmissionGate({ concurrency: 1, maxWaiting: 0 });
    const first = deferred();
    const running = gate.tryRun(() => first.promise);
    await expect(gate.tryRun(async () => undefined)).rejects.toThrow(SaturatedError);
    first.resolve();
    await running;
    await expect(gate.tryRun(async () => 'free again')).resolves.toBe('free again');
  });

  it('frees the slot when a task fails, and passes the failure on', async () => {
    const gate = new AdmissionGate({ concurrency: 1, maxWaiting: 0 });
    await expect(gate.tryRun(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(
      gate.tryRun(() => {
        throw new Error('sync boom');
      }),
    ).rejects.toThrow('sync boom');
    expect(gate.running).toBe(0);
    await expect(gate.tryRun(async () => 1)).resolves.toBe(1);
  });

  it('hands a freed slot to the oldest waiting task first', async () => {
    const gate = new AdmissionGate({ concurrency: 1, maxWaiting: 3 });
    const order: string[] = [];
    const first = deferred();
    const all = [
      gate.tryRun(() => first.promise),
      gate.tryRun(async () => order.push('b')),
      gate.tryRun(async () => order.push('c')),
      gate.tryRun(async () => order.push('d')),
    ];
    first.resolve();
    await Promise.all(all);
    expect(order).toEqual(['b', 'c', 'd']);
    expect(gate.running).toBe(0);
    expect(gate.waiting).toBe(0);
  });

  it('rejects nonsensical limits with a message naming the option', () => {
    expect(() => new AdmissionGate({ concurrency: 0, maxWaiting: 0 })).toThrow(/concurrency/);
    expect(() => new AdmissionGate({ concurrency: 1, maxWaiting: -1 })).toThrow(/maxWaiting/);
    expect(() => new AdmissionGate({ concurrency: 1.5, maxWaiting: 0 })).toThrow(/concurrency/);
  });
});
