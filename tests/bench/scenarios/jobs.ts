/**
 * A clock on the `job.done` events of the jobs the fallback and autoscaler scenarios queue (with
 * tests/helpers/jobs.ts).
 */
import type { Channel } from 'amqplib';
import { EVENTS_EXCHANGE } from '../../../src/shared/broker/topology.js';
import type { BenchWorld } from '../world.js';

/** Counts `job.done` events (one per job, by contract) with the time each arrived. */
export class DoneClock {
  readonly done = new Map<string, number>();
  private waiters: (() => void)[] = [];
  private constructor(private readonly channel: Channel) {}

  static async open(world: BenchWorld): Promise<DoneClock> {
    const channel = await world.broker.createChannel();
    await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    await channel.bindQueue(queue, EVENTS_EXCHANGE, 'job.done');
    const clock = new DoneClock(channel);
    await channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const hash = (JSON.parse(msg.content.toString()) as { hash?: string }).hash;
        if (hash && !clock.done.has(hash)) clock.done.set(hash, performance.now());
        for (const wake of clock.waiters.splice(0)) wake();
      },
      { noAck: true },
    );
    return clock;
  }

  /** Resolves with the time the last of `hashes` was done. */
  async allDone(hashes: string[], timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const missing = hashes.filter((h) => !this.done.has(h)).length;
      if (missing === 0) return Math.max(...hashes.map((h) => this.done.get(h)!));
      if (performance.now() > deadline) throw new Error(`${missing} of ${hashes.length} jobs not done within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** The time the first of `hashes` was done. */
  async firstDone(hashes: string[], timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const times = hashes.map((h) => this.done.get(h)).filter((t): t is number => t !== undefined);
      if (times.length > 0) return Math.min(...times);
      if (performance.now() > deadline) throw new Error(`no job done within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
  }
}
