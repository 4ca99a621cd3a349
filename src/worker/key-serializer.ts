/**
 * One task at a time per key, tasks of different keys side by side. With a prefetch above 1 a
 * worker can hold two deliveries of the same job (a duplicate publish, a redelivery next to a retry);
 * run one after the other, the second finds the first's result instead of redoing the work.
 */
export class KeySerializer {
  /** The last task queued for each key, settled either way; gone once nothing waits behind it. */
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with a task running or waiting. */
  get busyKeys(): number {
    return this.tails.size;
  }
}
