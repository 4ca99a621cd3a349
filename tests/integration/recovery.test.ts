/**
 * Recovery behaviour on real servers: graceful drain of a worker on SIGTERM, reconnection after
 * the broker drops every connection, the circuit breaker in front of the optimizer, and the
 * correlation id following a job from the upload through the broker to the worker and the events.
 */
import amqp from 'amqplib';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { createHarness, freePort, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';
import { spawnComponent, waitReady, type ChildComponent } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

let h: Harness;
let api: string;

beforeAll(async () => {
  h = await createHarness('recovery');
  api = (await h.startApi({ OPTIMIZER_TIMEOUT_MS: '800', CIRCUIT_FAILURE_THRESHOLD: '3', CIRCUIT_HALF_OPEN_AFTER_MS: '2000' })).url;
});
afterAll(async () => h?.cleanup());

async function statusOf(hash: string): Promise<string> {
  return ((await (await fetch(`${api}/status/${hash}`)).json()) as { status: string }).status;
}

async function queued(seed: number, headers: Record<string, string> = {}): Promise<{ jobId: string; correlationId: string }> {
  const form = new FormData();
  form.set('image', new Blob([(await makeJpeg(seed)) as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }), `p${seed}.jpg`);
  const res = await fetch(`${api}/upload`, { method: 'POST', body: form, headers });
  expect(res.status).toBe(202);
  return { jobId: ((await res.json()) as { jobId: string }).jobId, correlationId: res.headers.get('x-correlation-id')! };
}

/** The broker's names of the vhost's connections ("client address:port -> broker address:port"). */
function connectionsOf(vhost: string): Set<string> {
  const out = execFileSync('rabbitmqctl', ['-q', 'list_connections', '--no-table-headers', 'vhost', 'name']).toString();
  return new Set(
    out
      .split('\n')
      .filter((line) => line.startsWith(`${vhost}\t`))
      .map((line) => line.slice(vhost.length + 1)),
  );
}

function logLines(child: ChildComponent): Record<string, unknown>[] {
  return child.output
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

describe('recovery', () => {
  it('a worker on SIGTERM stops consuming, finishes the job in hand, and exits 0', async () => {
    const optimizer = spawnComponent('optimizer', { ...h.env, PORT: String(h.optimizerPort) });
    await waitReady(h.env.OPTIMIZER_URL!);
    optimizer.kill('SIGSTOP');
    const { jobId, correlationId } = await queued(500, { 'X-Request-Id': 'trace-recovery-0001' });
    expect(correlationId).toBe('trace-recovery-0001');
    const worker = spawnComponent('worker', { ...h.env, LOG_LEVEL: 'info', PORT: String(await freePort()), OPTIMIZER_TIMEOUT_MS: '30000' });
    const channel = await h.broker.createChannel();
    await waitFor(async () => (await channel.checkQueue(RETRY_QUEUE)).messageCount === 0 && (await channel.checkQueue(RETRY_QUEUE)).consumerCount === 1, {
      what: 'the worker to hold the job',
    });
    worker.kill('SIGTERM');
    // The consumer is cancelled at once: nothing more will be delivered to this worker.
    await waitFor(async () => (await channel.checkQueue(RETRY_QUEUE)).consumerCount === 0, { what: 'consumer cancelled' });
    optimizer.kill('SIGCONT');
    const exitCode = await worker.exited;
    if (exitCode !== 0) console.log(worker.output.join(''));
    expect(exitCode).toBe(0);
    expect(await statusOf(jobId)).toBe('done');
    expect((await channel.checkQueue(RETRY_QUEUE)).messageCount).toBe(0);
    const done = logLines(worker).find((l) => l.msg === 'job done');
    expect(done).toMatchObject({ resultId: jobId, correlationId: 'trace-recovery-0001', redelivered: false });
    await channel.close();
    optimizer.kill('SIGTERM');
    await optimizer.exited;
  });

  it('the api and the worker reconnect by themselves after the broker closes every connection', async () => {
    const worker = await h.startWorker();
    await h.startOptimizer();
    const vhost = decodeURIComponent(new URL(h.rabbitUrl).pathname.slice(1));
    const before = connectionsOf(vhost);
    expect(before.size, 'the api, the worker and the test are connected').toBeGreaterThanOrEqual(3);
    execFileSync('rabbitmqctl', ['close_all_connections', '--vhost', vhost, 'recovery test'], { stdio: 'ignore' });
    h.broker = await amqp.connect(h.rabbitUrl); // the test's own connection was closed too
    // Every connection of the vhost was closed, and as many came back: new ones, on new ports.
    await waitFor(
      () => {
        const after = connectionsOf(vhost);
        return after.size >= before.size && [...after].every((name) => !before.has(name));
      },
      { what: 'the api and the worker connected again' },
    );
    await waitReady(api);
    await waitReady(worker.url);
    await h.stopOptimizer();
    const { jobId } = await queued(501);
    await h.startOptimizer();
    await waitFor(async () => (await statusOf(jobId)) === 'done', { what: 'the job done after reconnection' });
  });

  it('opens the circuit after repeated timeouts so uploads get 202 at once, and closes it when the optimizer is back', async () => {
    for (const worker of h.workers.splice(0)) await worker.stop();
    await h.stopOptimizer();
    const optimizer = spawnComponent('optimizer', { ...h.env, PORT: String(h.optimizerPort) });
    await waitReady(h.env.OPTIMIZER_URL!);
    // Earlier outages in this file may have left failures counted: one success resets the count.
    let warmSeed = 560;
    await waitFor(async () => (await upload(api, await makeJpeg(warmSeed++))).status === 200, { what: 'a closed circuit', intervalMs: 200 });
    optimizer.kill('SIGSTOP');
    const timeoutsBefore = await metric(api, 'watermark_optimizer_calls_total{caller="api",outcome="timeout"');
    for (let i = 0; i < 3; i += 1) await queued(510 + i);
    expect(await metric(api, 'watermark_optimizer_circuit_open')).toBe(1);
    // Open: these never reach the hung optimizer, so no further timeout is counted. They are
    // answered at once, well within the 2 s before the circuit lets a probe through again, even
    // on a loaded machine (with 300 ms a slow run let a fourth upload probe the hung optimizer).
    for (let i = 0; i < 3; i += 1) await queued(520 + i);
    const timeouts = await metric(api, 'watermark_optimizer_calls_total{caller="api",outcome="timeout"');
    expect(timeouts - (Number.isNaN(timeoutsBefore) ? 0 : timeoutsBefore)).toBe(3);

    optimizer.kill('SIGCONT');
    let seed = 530;
    const res = await waitFor(
      async () => {
        // Distinct bytes each time: the same bytes would find their own pending job and get its 202.
        const r = await upload(api, await makeJpeg(seed++));
        return r.status === 200 ? r : undefined;
      },
      { what: 'a half-open probe to succeed', intervalMs: 200 },
    );
    expect(res.headers.get('x-cache')).toBe('MISS');
    expect(await metric(api, 'watermark_optimizer_circuit_open')).toBe(0);
    optimizer.kill('SIGTERM');
    await optimizer.exited;
  });

  it('carries the correlation id into the job message and the job events', async () => {
    const channel = await h.broker.createChannel();
    await channel.purgeQueue(RETRY_QUEUE); // jobs left by the circuit test above
    const events: Record<string, unknown>[] = [];
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'watermark.events', 'job.*');
    await channel.consume(queue, (m) => m && events.push(JSON.parse(m.content.toString()) as Record<string, unknown>), { noAck: true });
    const { jobId } = await queued(540, { 'X-Request-Id': 'trace-recovery-0002' });
    const message = await waitFor(async () => (await channel.get(RETRY_QUEUE, { noAck: false })) || undefined, { what: 'the job message' });
    expect(message.properties.headers?.['x-correlation-id']).toBe('trace-recovery-0002');
    channel.nack(message, false, true);
    await h.startOptimizer();
    await h.startWorker();
    await waitFor(() => events.some((e) => e.type === 'job.done' && e.hash === jobId), { what: 'job.done' });
    expect(events.filter((e) => e.hash === jobId).map((e) => [e.type, e.correlationId])).toEqual([
      ['job.queued', 'trace-recovery-0002'],
      ['job.done', 'trace-recovery-0002'],
    ]);
    await channel.close();
  });
});
