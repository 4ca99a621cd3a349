/** A private RabbitMQ vhost for one controller test file, fast management statistics, and publishing helpers. */
import amqp, { type ChannelModel } from 'amqplib';
import { execFileSync } from 'node:child_process';
import { waitFor } from '../../helpers/wait.js';

const RABBIT_BASE = (process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/').replace(/\/$/, '');
export const MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://guest:guest@127.0.0.1:15672';

function rabbitmqctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

/**
 * The management plugin must answer (the controller's unacked counts come from it). Queue counts
 * there refresh every collect_statistics_interval (5 s by default); queues created after this
 * call report every 500 ms, which keeps these tests short. Production keeps the default.
 */
export async function ensureManagementApi(): Promise<void> {
  const up = () =>
    fetch(`${MANAGEMENT_URL.replace(/\/\/.*@/, '//')}/api/overview`, {
      headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
    }).then(
      (r) => r.ok,
      () => false,
    );
  if (!(await up())) {
    execFileSync('rabbitmq-plugins', ['enable', 'rabbitmq_management', 'rabbitmq_prometheus'], { stdio: 'ignore' });
    await waitFor(up, { timeoutMs: 60_000, what: 'the RabbitMQ management API' });
  }
  rabbitmqctl('eval', 'application:set_env(rabbit, collect_statistics_interval, 500).');
}

export interface TestVhost {
  name: string;
  url: string;
  connection: ChannelModel;
  cleanup(): Promise<void>;
}

export async function createVhost(label: string): Promise<TestVhost> {
  const name = `nws-test-${label}-${process.pid}-${Date.now().toString(36)}`;
  rabbitmqctl('add_vhost', name);
  rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
  const url = `${RABBIT_BASE}/${encodeURIComponent(name)}`;
  const connection = await amqp.connect(url);
  return {
    name,
    url,
    connection,
    async cleanup() {
      await connection.close().catch(() => undefined);
      try {
        rabbitmqctl('delete_vhost', name);
      } catch {
        // a leftover test vhost is harmless
      }
    },
  };
}

export async function publish(
  connection: ChannelModel,
  queue: string,
  count: number,
  body: (i: number) => Buffer = (i) => Buffer.from(String(i)),
): Promise<void> {
  const channel = await connection.createConfirmChannel();
  await channel.assertQueue(queue, { durable: true });
  for (let i = 0; i < count; i += 1) channel.sendToQueue(queue, body(i), { persistent: true });
  await channel.waitForConfirms();
  await channel.close();
}

export async function managementQueue(vhost: string, queue: string): Promise<Record<string, unknown> | undefined> {
  const base = MANAGEMENT_URL.replace(/\/\/.*@/, '//');
  const res = await fetch(`${base}/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(queue)}`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  });
  return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
}

/** Consumers on a queue, read over AMQP. A passive declare of a missing queue closes its channel: one channel per look. */
export async function consumerCount(connection: ChannelModel, queue: string): Promise<number> {
  const ch = await connection.createChannel();
  ch.on('error', () => undefined);
  try {
    return (await ch.checkQueue(queue)).consumerCount;
  } finally {
    await ch.close().catch(() => undefined);
  }
}
