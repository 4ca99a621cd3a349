/** KeySerializer: one task at a time per key, keys independent, a failure does not block the next. */
import { describe, expect, it } from 'vitest';
import { KeySerializer } from '../../../src/worker/key-serializer.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } {
  let resolve: () => void = () => undefined;
  let reject: (err: Error) => void = () => undefined;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('KeySerializer', () => {
  it('starts a task of a key only once the one before it settled', async () => {
    const serial = new KeySerializer();
    const order: string[] = [];
    const gate = deferred();
    const a = serial.run('k', async () => {
      order.push('a start');
      await gate.promise;
      order.push('a end');
    });
    const b = serial.run('k', async () => {
      order.push('b');
    });
    await Promise.resolve();
    expect(order).toEqual(['a start']);
    gate.resolve();
    await Promise.all([a, b]);
    expect(order).toEqual(['a start', 'a end', 'b']);
  });

  it('runs tasks of other keys meanwhile', async () => {
    const serial = new KeySerializer();
    const gate = deferred();
    const held = serial.run('one', () => gate.promise);
    expect(await serial.run('two', async () => 'done')).toBe('done');
    gate.resolve();
    await held;
  });

  it('passes a failure to its caller and still runs what waited behind it', async () => {
    const serial = new KeySerializer();
    const failing = serial.run('k', async () => {
      throw new Error('boom');
    });
    const next = serial.run('k', async () => 2);
    await expect(failing).rejects.toThrow('boom');
    expect(await next).toBe(2);
  });

  it('forgets a key once nothing waits on it', async () => {
    const serial = new KeySerializer();
    await serial.run('k', async () => 1);
    await new Promise((r) => setImmediate(r));
    expect(serial.busyKeys).toBe(0);
  });
});
