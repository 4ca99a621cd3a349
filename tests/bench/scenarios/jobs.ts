/**
 * A clock on the `job.done` events of the jobs the fallback and autoscaler scenarios queue (with
 * tests/helpers/jobs.ts).
 */
import type { Channel } from 'amqplib';
import { EVENTS_EXCHANGE } from '../../../src/shared/broker/topology.js';
import { decodeJobEvent } from '../../../src/shared/contracts/job-event.js';
import type { BenchWorld } from '../world.js';

/** Counts `job.done` events (one per job, by contract, naming its result id) with the time each arrived. */
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
        const decoded = decodeJobEvent(msg.content);
        const id = decoded.ok ? decoded.value.hash : undefined;
        if (id && !clock.done.has(id)) clock.done.set(id, performance.now());
        for (const wake of clock.waiters.splice(0)) wake();
      },
      { noAck: true },
    );
    return clock;
  }

  /** Resolves with the time the last of `resultIds` was done. */
  async allDone(resultIds: string[], timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const missing = resultIds.filter((id) => !this.done.has(id)).length;
      if (missing === 0) return Math.max(...resultIds.map((id) => this.done.get(id)!));
      if (performance.now() > deadline) throw new Error(`${missing} of ${resultIds.length} jobs not done within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  /** The time the first of `resultIds` was done. */
  async firstDone(resultIds: string[], timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const times = resultIds.map((id) => this.done.get(id)).filter((t): t is number => t !== undefined);
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
