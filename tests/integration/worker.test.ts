/**
 * The retry worker against real RabbitMQ, Redis and s3rver: redelivery after a crash, poison
 * messages, permanent failures and the bounded number of attempts.
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DEAD_LETTER_QUEUE, RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { createHarness, freePort, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { spawnComponent, waitReady } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { DEFAULT_SETTINGS } from '../helpers/watermark.js';
import { resultIdFor } from '../../src/shared/watermark/identity.js';
import type { Channel, GetMessage } from 'amqplib';

let h: Harness;
let api: string;
let channel: Channel;

beforeAll(async () => {
  h = await createHarness('worker');
  api = (await h.startApi()).url;
  channel = await h.broker.createChannel();
});
afterAll(async () => {
  await channel?.close().catch(() => undefined);
  await h?.cleanup();
});

async function depth(queue: string): Promise<number> {
  return (await channel.checkQueue(queue)).messageCount;
}

/** The queue's consumers, or undefined while it does not exist (a failed check closes its channel, so each has its own). */
async function consumersOf(queue: string): Promise<number | undefined> {
  const probe = await h.broker.createChannel();
  probe.on('error', () => undefined);
  try {
    return (await probe.checkQueue(queue)).consumerCount;
  } catch {
    return undefined;
  } finally {
    await probe.close().catch(() => undefined);
  }
}

async function takeDeadLetter(): Promise<GetMessage> {
  const message = await waitFor(async () => (await channel.get(DEAD_LETTER_QUEUE, { noAck: true })) || undefined, { what: 'a dead letter' });
  return message;
}

async function statusOf(hash: string): Promise<{ status: string; attempts?: number; error?: string; url?: string }> {
  return (await fetch(`${api}/status/${hash}`)).json() as Promise<{ status: string }>;
}

async function queueWhileOptimizerDown(seed: number): Promise<string> {
  const res = await upload(api, await makeJpeg(seed));
  expect(res.status).toBe(202);
  return ((await res.json()) as { jobId: string }).jobId;
}

describe('retry worker', () => {
  it('redelivers a job whose worker was killed before acking, and finishes it once', async () => {
    const hash = await queueWhileOptimizerDown(100);
    // The optimizer answers health checks but hangs on work: the worker holds the job unacked.
    const optimizer = spawnComponent('optimizer', { ...h.env, PORT: String(h.optimizerPort) });
    await waitReady(h.env.OPTIMIZER_URL!);
    optimizer.kill('SIGSTOP');
    const workerPort = await freePort();
    const worker = spawnComponent('worker', { ...h.env, PORT: String(workerPort), OPTIMIZER_TIMEOUT_MS: '60000' });
    await waitFor(async () => (await channel.checkQueue(RETRY_QUEUE)).consumerCount === 1 && (await depth(RETRY_QUEUE)) === 0, {
      what: 'the worker to hold the job',
    });
    worker.kill('SIGKILL');
    await worker.exited;
    await waitFor(async () => (await depth(RETRY_QUEUE)) === 1, { what: 'the job back on the queue' });
    optimizer.kill('SIGCONT');

    const done: string[] = [];
    const events = await h.broker.createChannel();
    const { queue } = await events.assertQueue('', { exclusive: true });
    await events.bindQueue(queue, 'watermark.events', 'job.done');
    await events.consume(queue, (m) => m && done.push((JSON.parse(m.content.toString()) as { hash: string }).hash), { noAck: true });

    const second = await h.startWorker();
    await waitFor(async () => (await statusOf(hash)).status === 'done', { what: 'job done' });
    await waitFor(() => done.length >= 1, { what: 'job.done event' });
    expect(done).toEqual([hash]);
    expect(await depth(RETRY_QUEUE)).toBe(0);
    const image = await fetch(`${api}/image/${hash}`);
    expect((await sharp(Buffer.from(await image.arrayBuffer())).metadata()).format).toBe('jpeg');
    await events.close();
    await second.stop();
    h.workers.splice(h.workers.indexOf(second), 1);
    optimizer.kill('SIGTERM');
    await optimizer.exited;
  });

  it('dead-letters a malformed message with its reason, without retrying it', async () => {
    await h.startOptimizer();
    const worker = await h.startWorker();
    channel.sendToQueue(RETRY_QUEUE, Buffer.from('{"hash": "not-a-hash"'), { persistent: true, messageId: 'poison-1' });
    const dead = await takeDeadLetter();
    expect(dead.content.toString()).toBe('{"hash": "not-a-hash"');
    expect(dead.properties.headers?.['x-dead-letter-reason']).toBe('invalid_message');
    expect(String(dead.properties.headers?.['x-dead-letter-error'])).toContain('not JSON');
    expect(dead.properties.messageId).toBe('poison-1');
    expect(await depth(RETRY_QUEUE)).toBe(0);
    const metrics = await fetch(`${worker.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/watermark_jobs_dead_lettered_total\{reason="invalid_message"[^}]*\} 1/);
    await h.stopOptimizer();
  });

  it.each([
    ['wrong types', JSON.stringify({ hash: 42, original_key: true, filename: [] }), 'hash'],
    ['a key outside original/', JSON.stringify({ hash: 'd'.repeat(64), original_key: `watermarked/${'d'.repeat(64)}.jpg` }), 'original/<hash>.<ext>'],
    [
      'a key climbing out with ../',
      JSON.stringify({ hash: 'd'.repeat(64), original_key: `original/../../etc/${'d'.repeat(64)}.jpg` }),
      'original/<hash>.<ext>',
    ],
    ['a huge body', `{"hash":"${'d'.repeat(64)}","pad":"${'x'.repeat(2 * 1024 * 1024)}"}`, 'exceeds'],
  ])('dead-letters a message with %s as invalid_message', async (_name, body, reason) => {
    channel.sendToQueue(RETRY_QUEUE, Buffer.from(body), { persistent: true });
    const dead = await takeDeadLetter();
    expect(dead.properties.headers?.['x-dead-letter-reason']).toBe('invalid_message');
    expect(String(dead.properties.headers?.['x-dead-letter-error'])).toContain(reason);
    expect(dead.content.length).toBe(Buffer.byteLength(body));
    expect(await depth(RETRY_QUEUE)).toBe(0);
  });

  it('marks a job failed at once when the original is missing (permanent error)', async () => {
    const hash = 'e'.repeat(64);
    // A job as the seed's api sent it, without settings: made with `default`, under the id that gives.
    const id = resultIdFor(hash, DEFAULT_SETTINGS);
    channel.sendToQueue(RETRY_QUEUE, Buffer.from(JSON.stringify({ hash, original_key: `original/${hash}.jpg`, filename: 'gone.jpg' })), { persistent: true });
    const dead = await takeDeadLetter();
    expect(dead.properties.headers?.['x-dead-letter-reason']).toBe('permanent_error');
    const status = await waitFor(async () => ((await statusOf(id)).status === 'failed' ? statusOf(id) : undefined), { what: 'failed status' });
    expect(status.error).toContain('does not exist');
  });

  it('fails an image the optimizer rejects, queued while the optimizer was down', async () => {
    const full = await makeJpeg(101, 800, 600);
    const truncated = full.subarray(0, Math.floor(full.length / 2));
    const res = await upload(api, truncated, 'half.jpg');
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    await h.startOptimizer();
    const dead = await takeDeadLetter();
    expect(dead.properties.headers?.['x-dead-letter-reason']).toBe('permanent_error');
    await waitFor(async () => (await statusOf(jobId)).status === 'failed', { what: 'failed status' });
    expect((await statusOf(jobId)).error).toMatch(/rejected/);
    await h.stopOptimizer();
  });

  it('turns a duplicated job into one result and one job.done', async () => {
    for (const worker of h.workers.splice(0)) await worker.stop();
    await h.stopOptimizer();
    // Passed or not, the next test starts its own optimizer on the same port.
    onTestFinished(() => h.stopOptimizer());
    const hash = await queueWhileOptimizerDown(103);
    const original = await channel.get(RETRY_QUEUE, { noAck: false });
    expect(original).not.toBe(false);
    if (!original) return;
    // The same job twice on the queue, as a redelivery or a double publish would leave it.
    channel.sendToQueue(RETRY_QUEUE, original.content, { ...original.properties, persistent: true });
    channel.nack(original, false, true);
    await waitFor(async () => (await depth(RETRY_QUEUE)) === 2, { what: 'two copies queued' });

    const done: string[] = [];
    const events = await h.broker.createChannel();
    const { queue } = await events.assertQueue('', { exclusive: true });
    await events.bindQueue(queue, 'watermark.events', 'job.done');
    await events.consume(queue, (m) => m && done.push((JSON.parse(m.content.toString()) as { hash: string }).hash), { noAck: true });
    await h.startOptimizer();
    await h.startWorker();
    await waitFor(async () => (await depth(RETRY_QUEUE)) === 0 && (await statusOf(hash)).status === 'done', { what: 'both copies consumed' });
    await waitFor(
      async () => /watermark_jobs_acked_total\{[^}]*\} (\d+)/.exec(await fetch(`${h.workers.at(-1)!.url}/metrics`).then((r) => r.text()))?.[1] === '2',
      { what: 'two acks' },
    );
    // A job.done is published after its job's ack. Stopping the worker waits for the handlers in
    // hand, whose events are then confirmed, so in the queue; a marker sent after them comes out
    // behind them, and once it is here every job.done the worker sent has been counted.
    for (const worker of h.workers.splice(0)) await worker.stop();
    events.sendToQueue(queue, Buffer.from(JSON.stringify({ hash: 'marker' })));
    await waitFor(() => done.includes('marker'), { what: 'the marker behind the job events' });
    await events.close();
    expect(done.filter((x) => x === hash)).toHaveLength(1);
    expect((await h.store.list(`watermarked/${hash}.`, 10)).length).toBe(1);
  });

  it('gives up on a job that keeps failing after MAX_ATTEMPTS, through the delay queues', async () => {
    for (const worker of h.workers.splice(0)) await worker.stop();
    const hash = await queueWhileOptimizerDown(102);
    await h.startOptimizer();
    // Every call times out while the optimizer stays healthy: the job itself fails, attempt after attempt.
    const worker = await h.startWorker({ OPTIMIZER_TIMEOUT_MS: '1', MAX_ATTEMPTS: '3', RETRY_DELAYS_MS: '100,200' });
    const dead = await takeDeadLetter();
    expect(dead.properties.headers?.['x-dead-letter-reason']).toBe('max_attempts');
    expect(dead.properties.headers?.['x-attempts']).toBe(3);
    const status = await waitFor(async () => ((await statusOf(hash)).status === 'failed' ? statusOf(hash) : undefined), { what: 'failed' });
    expect(status.attempts).toBe(3);
    const metrics = await fetch(`${worker.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/watermark_jobs_retried_total\{[^}]*\} 2/);
    expect(metrics).toMatch(/watermark_jobs_dead_lettered_total\{reason="max_attempts"[^}]*\} 1/);
  });

  it('declares its queue again and consumes again when the queue is deleted under it', async () => {
    for (const worker of h.workers.splice(0)) await worker.stop();
    await h.stopOptimizer();
    onTestFinished(() => h.stopOptimizer());
    await h.startWorker();
    await waitFor(async () => (await consumersOf(RETRY_QUEUE)) === 1, { what: 'the worker consuming' });
    // The broker cancels the worker's consumer; its connection and channel stay up.
    await channel.deleteQueue(RETRY_QUEUE);
    await waitFor(async () => (await consumersOf(RETRY_QUEUE)) === 1, { what: 'the queue declared again, with the worker consuming it' });
    const hash = await queueWhileOptimizerDown(104);
    await h.startOptimizer();
    await waitFor(async () => (await statusOf(hash)).status === 'done', { what: 'the job queued after the deletion done' });
  });

  it('has the api declare the queue again when it finds it deleted, and keeps the upload', async () => {
    for (const worker of h.workers.splice(0)) await worker.stop();
    await h.stopOptimizer();
    onTestFinished(() => h.stopOptimizer());
    await channel.deleteQueue(RETRY_QUEUE);
    expect(await consumersOf(RETRY_QUEUE)).toBeUndefined();
    // No worker to declare it: the api's publish comes back unroutable, and the api declares it.
    const hash = await queueWhileOptimizerDown(105);
    expect(await depth(RETRY_QUEUE)).toBe(1);
    await h.startOptimizer();
    await h.startWorker();
    await waitFor(async () => (await statusOf(hash)).status === 'done', { what: 'the job done' });
  });
});
