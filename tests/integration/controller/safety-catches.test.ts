/**
 * The controller process in Kubernetes mode against the strict API stand-in and the real RabbitMQ,
 * for what issue 15 added: a backlog reconciled on its `job.queued` event long before the poll
 * (polling 60 s), the paused-replicas annotation, the fallback after failed reads, the new printer
 * columns' conditions. Ordering and causality only: no test here asserts a time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueScalerStatus } from '../../../src/controller/queue-scaler.js';
import { EVENTS_EXCHANGE, RETRY_QUEUE } from '../../../src/shared/broker/topology.js';
import { encodeJobEvent } from '../../../src/shared/contracts/index.js';
import { freePort } from '../../helpers/harness.js';
import { spawnComponent, type ChildComponent } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait.js';
import { ApiServerStandIn } from './api-server-stand-in.js';
import { createVhost, ensureManagementApi, publish, type TestVhost } from './broker.js';

let api: ApiServerStandIn;
let vhost: TestVhost;
let dir: string;
let controller: ChildComponent;

const status = (ns: string, name: string) => (api.scaler(ns, name) as { status?: QueueScalerStatus } | undefined)?.status;
const condition = (ns: string, name: string, type: string) => status(ns, name)?.conditions.find((c) => c.type === type);
const scalePatches = (ns: string) => api.requests.filter((r) => r.method === 'PATCH' && r.path === `/apis/apps/v1/namespaces/${ns}/deployments/worker/scale`);
const depthPasses = (ns: string) =>
  api.requests.filter((r) => r.method === 'GET' && r.path === `/apis/apps/v1/namespaces/${ns}/deployments/worker/scale`).length;

/** What the api does after a job's confirm: a `job.queued` event on watermark.events. */
async function announceQueued(count: number): Promise<void> {
  const channel = await vhost.connection.createConfirmChannel();
  await channel.assertExchange(EVENTS_EXCHANGE, 'topic', { durable: true });
  // One that is no job event first: the controller must ignore it and keep listening.
  channel.publish(EVENTS_EXCHANGE, 'job.queued', Buffer.from('{"not":"an event"}'));
  for (let i = 0; i < count; i += 1) {
    const hash = i.toString(16).padStart(64, '0');
    channel.publish(EVENTS_EXCHANGE, 'job.queued', encodeJobEvent({ type: 'job.queued', hash, attempts: 0, at: new Date().toISOString() }), {
      contentType: 'application/json',
    });
  }
  await channel.waitForConfirms();
  await channel.close();
}

beforeAll(async () => {
  await ensureManagementApi();
  vhost = await createVhost('catches');
  dir = mkdtempSync(join(tmpdir(), 'nws-catches-'));
  api = new ApiServerStandIn('charts/nws-watermark/crds/queuescaler.yaml', { ctl: 'token' });
  await api.start();
  const kubeconfig = join(dir, 'ctl.kubeconfig');
  writeFileSync(kubeconfig, api.kubeconfig('ctl'));
  controller = spawnComponent('controller', {
    CONTROLLER_MODE: 'kubernetes',
    KUBECONFIG: kubeconfig,
    RABBITMQ_URL: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/',
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    POD_NAME: 'ctl',
    LEASE_NAMESPACE: 'ops',
    LEASE_DURATION_SECONDS: '3',
    LEASE_RENEW_SECONDS: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    SHUTDOWN_GRACE_MS: '3000',
  });
});
afterAll(async () => {
  controller?.kill('SIGTERM');
  await controller?.exited;
  await api?.stop();
  await vhost?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('QueueScaler safety catches and event-driven reaction', () => {
  it('scales up on job.queued events although the poll is 60 s away', async () => {
    api.createDeployment('ev', 'worker', 1);
    await publish(vhost.connection, RETRY_QUEUE, 0);
    api.createScaler('ev', 'workers', {
      scaleTargetRef: { name: 'worker' },
      queue: RETRY_QUEUE,
      vhost: vhost.name,
      minReplicas: 1,
      pollingIntervalSeconds: 60,
    });
    // The first pass (at the start, as every loop does) finds the queue empty and keeps 1.
    await waitFor(() => condition('ev', 'workers', 'Ready')?.status === 'True', { what: 'the first pass' });
    const passesBefore = depthPasses('ev');
    expect(status('ev', 'workers')).toMatchObject({ desiredReplicas: 1, queueDepth: 0 });
    expect(scalePatches('ev')).toHaveLength(0);
    // The feed is bound once the controller follows the queue; events before that are lost, by
    // design (the poll covers them). So the backlog is announced until the scale happens.
    await publish(vhost.connection, RETRY_QUEUE, 35);
    await waitFor(
      async () => {
        if (api.replicas('ev', 'worker') === 4) return true;
        await announceQueued(3);
        return false;
      },
      { timeoutMs: 20_000, intervalMs: 300, what: '4 replicas, reconciled on the events' },
    );
    // Causality: with a 60 s poll, the only passes since the first are the ones events asked for,
    // and the test ended long before a poll (its timeout is a third of the interval).
    expect(depthPasses('ev')).toBeGreaterThan(passesBefore);
    expect(scalePatches('ev').at(-1)?.body).toMatchObject({ spec: { replicas: 4 } });
    // The Event is written after the scale: waited for, not read at once.
    const scaledUp = await waitFor(() => api.events('ev').find((e) => e.reason === 'ScaledUp'), { what: 'the ScaledUp Event' });
    expect(scaledUp.message).toContain('1 → 4');
  });

  it('pauses at the annotation (scale to N and hold), with Paused True, and resumes when it goes', async () => {
    api.createDeployment('pause', 'worker', 1);
    await publish(vhost.connection, 'pause-jobs', 55);
    api.createScaler(
      'pause',
      'workers',
      { scaleTargetRef: { name: 'worker' }, queue: 'pause-jobs', vhost: vhost.name, pollingIntervalSeconds: 1 },
      {
        'watermark.nws.io/paused-replicas': '2',
      },
    );
    await waitFor(() => api.replicas('pause', 'worker') === 2 && condition('pause', 'workers', 'Paused')?.status === 'True', { what: 'paused at 2' });
    expect(condition('pause', 'workers', 'Paused')).toMatchObject({ reason: 'PausedByAnnotation' });
    const before = depthPasses('pause');
    await waitFor(() => depthPasses('pause') >= before + 2, { what: 'two more passes while paused' });
    expect(api.replicas('pause', 'worker')).toBe(2);
    api.annotateScaler('pause', 'workers', { 'watermark.nws.io/paused-replicas': null });
    // The scale and the status are two writes, the scale first: wait for both, as for the pause above.
    await waitFor(() => api.replicas('pause', 'worker') === 6 && condition('pause', 'workers', 'Paused')?.status === 'False', {
      what: '6 replicas once resumed (55 messages), and Paused False',
    });
    expect(condition('pause', 'workers', 'Paused')).toMatchObject({ status: 'False', reason: 'NotPaused' });
  });

  it('goes to the fallback replicas after failureThreshold failed reads in a row, with Fallback True', async () => {
    api.createDeployment('fb', 'worker', 1);
    api.createScaler('fb', 'workers', {
      scaleTargetRef: { name: 'worker' },
      queue: 'no-such-queue',
      vhost: vhost.name,
      pollingIntervalSeconds: 1,
      fallback: { failureThreshold: 2, replicas: 3 },
    });
    await waitFor(() => condition('fb', 'workers', 'Fallback')?.reason === 'BelowThreshold', { what: 'the first failed read' });
    expect(api.replicas('fb', 'worker')).toBe(1);
    await waitFor(() => api.replicas('fb', 'worker') === 3 && condition('fb', 'workers', 'Fallback')?.status === 'True', {
      what: 'the fallback replicas, and Fallback True',
    });
    expect(condition('fb', 'workers', 'Fallback')).toMatchObject({ status: 'True', reason: 'FallbackActive' });
    expect(condition('fb', 'workers', 'Ready')).toMatchObject({ status: 'False', reason: 'QueueUnreadable' });
  });

  it('is refused by the CRD with a scale-down Percent over 100 or a failureThreshold of 0', () => {
    const base = { scaleTargetRef: { name: 'worker' }, queue: 'q' };
    expect(() => api.createScaler('bad', 'a', { ...base, fallback: { failureThreshold: 0, replicas: 1 } })).toThrow(/must be ≥ 1/);
    expect(() =>
      api.createScaler('bad', 'b', { ...base, behavior: { scaleDown: { policies: [{ type: 'Percent', value: 150, periodSeconds: 60 }] } } }),
    ).toThrow(/at most 100 %/);
    expect(() => api.createScaler('bad', 'c', { ...base, behavior: { scaleUp: { selectPolicy: 'Fastest' } } })).toThrow(/Unsupported value/);
  });
});
