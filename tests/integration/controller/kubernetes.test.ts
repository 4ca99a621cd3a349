/**
 * The controller process in Kubernetes mode, configured by a kubeconfig, against the strict
 * in-process stand-in of the API server and the real RabbitMQ: list/watch of QueueScalers,
 * /scale with a merge patch and resourceVersion, 409/404/403 handling, status with conditions and
 * observedGeneration, Events, errors reading the queue, informer restarts and leader election.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../helpers/harness.js';
import { spawnComponent, type ChildComponent } from '../../helpers/processes.js';
import { waitFor } from '../../helpers/wait.js';
import { ApiServerStandIn } from './api-server-stand-in.js';
import { createVhost, ensureManagementApi, publish, type TestVhost } from './broker.js';

type Json = Record<string, any>; // API objects read by path in assertions (eslint.config.js)

let api: ApiServerStandIn;
let vhost: TestVhost;
let dir: string;
const controllers: ChildComponent[] = [];

async function startController(user: string): Promise<ChildComponent> {
  const kubeconfig = join(dir, `${user}.kubeconfig`);
  writeFileSync(kubeconfig, api.kubeconfig(user));
  const child = spawnComponent('controller', {
    CONTROLLER_MODE: 'kubernetes',
    KUBECONFIG: kubeconfig,
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    POD_NAME: user,
    LEASE_NAMESPACE: 'ops',
    LEASE_DURATION_SECONDS: '3',
    LEASE_RENEW_SECONDS: '1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    SHUTDOWN_GRACE_MS: '3000',
  });
  controllers.push(child);
  return child;
}

const scaler = (ns: string, name: string): Json | undefined => api.scaler(ns, name);
const condition = (ns: string, name: string, type: string) => (scaler(ns, name)?.status?.conditions as Json[] | undefined)?.find((c) => c.type === type);

function spec(queue: string, extra: Json = {}): Json {
  return { scaleTargetRef: { name: 'worker' }, queue, vhost: vhost.name, pollingIntervalSeconds: 1, messagesPerReplica: 10, maxReplicas: 10, ...extra };
}

beforeAll(async () => {
  await ensureManagementApi();
  vhost = await createVhost('k8s');
  dir = mkdtempSync(join(tmpdir(), 'nws-k8s-'));
  api = new ApiServerStandIn('charts/nws-watermark/crds/queuescaler.yaml', { 'ctl-a': 'token-a', 'ctl-b': 'token-b' });
  await api.start();
  api.createDeployment('team-a', 'worker', 1);
  await publish(vhost.connection, 'jobs-a', 45);
  api.createScaler('team-a', 'workers', spec('jobs-a'));
  await startController('ctl-a');
});
afterAll(async () => {
  for (const c of controllers) c.kill('SIGTERM');
  await Promise.all(controllers.map((c) => c.exited));
  await api?.stop();
  await vhost?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('controller against the Kubernetes API', () => {
  it('scales the Deployment through /scale with a merge patch carrying the resourceVersion', async () => {
    await waitFor(() => api.replicas('team-a', 'worker') === 5, { timeoutMs: 15_000, what: '5 replicas (45 messages, 10 per replica)' });
    const patches = api.requests.filter((r) => r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/team-a/deployments/worker/scale');
    expect(patches[0]).toMatchObject({ contentType: 'application/merge-patch+json', status: 200, user: 'ctl-a' });
    expect(patches[0]?.body).toMatchObject({ metadata: { resourceVersion: expect.any(String) }, spec: { replicas: 5 } });
  });

  it('scales a StatefulSet through its /scale the same way', async () => {
    api.createStatefulSet('team-s', 'worker', 1);
    await publish(vhost.connection, 'jobs-s', 25);
    api.createScaler('team-s', 'workers', spec('jobs-s', { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'worker' } }));
    await waitFor(() => api.replicas('team-s', 'worker', 'statefulsets') === 3, { timeoutMs: 15_000, what: '3 replicas (25 messages, 10 per replica)' });
    const patches = api.requests.filter((r) => r.method === 'PATCH' && r.path === '/apis/apps/v1/namespaces/team-s/statefulsets/worker/scale');
    expect(patches[0]).toMatchObject({ contentType: 'application/merge-patch+json', status: 200, user: 'ctl-a' });
    expect(patches[0]?.body).toMatchObject({ metadata: { resourceVersion: expect.any(String) }, spec: { replicas: 3 } });
  });

  it('writes status through the status subresource, with conditions and observedGeneration', async () => {
    const status = await waitFor(
      () => {
        const s = scaler('team-a', 'workers')?.status as Json | undefined;
        // currentReplicas is what the reconcile observed before it scaled (as the HPA reports it):
        // the status that decided 5 still says 1, the next one says 5. Waited for, not raced.
        return s?.desiredReplicas === 5 && s.unackedMessages === 0 && s.currentReplicas === 5 ? s : undefined;
      },
      { timeoutMs: 15_000, what: 'status with depth 45 and 5 replicas' },
    );
    expect(status).toMatchObject({ queueDepth: 45, readyMessages: 45, unackedMessages: 0, desiredReplicas: 5, currentReplicas: 5, observedGeneration: 1 });
    expect(status.lastScaleTime).toMatch(/^\d{4}-/);
    expect(condition('team-a', 'workers', 'Ready')).toMatchObject({ status: 'True', reason: 'ScalerReady', observedGeneration: 1 });
    expect(condition('team-a', 'workers', 'Active')).toMatchObject({ status: 'True' });
    expect(condition('team-a', 'workers', 'ScalingLimited')).toMatchObject({ status: 'False' });
    const statusWrites = api.requests.filter((r) => r.path.endsWith('/queuescalers/workers/status'));
    expect(statusWrites.every((r) => r.method === 'PATCH' && r.contentType === 'application/merge-patch+json')).toBe(true);
  });

  it('records a Kubernetes Event on the QueueScaler for the scale', async () => {
    const event = await waitFor(() => api.events('team-a').find((e) => e.reason === 'ScaledUp'), { what: 'a ScaledUp event' });
    expect(event.involvedObject).toMatchObject({ kind: 'QueueScaler', name: 'workers', namespace: 'team-a', apiVersion: 'watermark.nws.io/v1alpha1' });
    expect(event.message).toContain('1 → 5');
  });

  it('holds the Lease while it leads', () => {
    expect((api.lease('ops', 'nws-watermark-controller') as Json).spec).toMatchObject({ holderIdentity: 'ctl-a', leaseDurationSeconds: 3 });
  });

  it('re-reads and retries when someone else wrote the Deployment in between (409)', async () => {
    api.interleaveWriteBeforeNextScalePatch('team-a', 'worker');
    await publish(vhost.connection, 'jobs-a', 30); // 75 messages: 8 replicas
    await waitFor(() => api.replicas('team-a', 'worker') === 8, { timeoutMs: 15_000, what: '8 replicas after a conflict' });
    const patches = api.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/worker/scale'));
    const codes = patches.map((r) => r.status);
    expect(codes).toContain(409);
    expect(codes.at(-1)).toBe(200);
  });

  it('applies a spec change and reports the new observedGeneration', async () => {
    api.updateScalerSpec('team-a', 'workers', { maxReplicas: 6 });
    await waitFor(() => api.replicas('team-a', 'worker') === 6, { timeoutMs: 15_000, what: 'maxReplicas 6 applied' });
    await waitFor(() => scaler('team-a', 'workers')?.status?.observedGeneration === 2, { what: 'observedGeneration 2' });
    // The status converges over reconciles: on a loaded machine the first one of generation 2 may
    // still have read the depth from before the last publish (the management API's rates lag).
    await waitFor(() => condition('team-a', 'workers', 'ScalingLimited')?.status === 'True', { timeoutMs: 15_000, what: 'ScalingLimited' });
    expect(condition('team-a', 'workers', 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooManyReplicas', observedGeneration: 2 });
  });

  it('reports a missing target as TargetNotFound without patching anything', async () => {
    api.createScaler('team-c', 'orphan', spec('jobs-a', { scaleTargetRef: { name: 'nope' } }));
    await waitFor(() => condition('team-c', 'orphan', 'Ready')?.reason === 'TargetNotFound', { timeoutMs: 15_000, what: 'TargetNotFound' });
    expect(condition('team-c', 'orphan', 'Ready')).toMatchObject({ status: 'False' });
    expect(api.requests.some((r) => r.method === 'PATCH' && r.path.includes('/team-c/deployments/'))).toBe(false);
  });

  it('names the missing permission when scaling is forbidden (403)', async () => {
    api.createDeployment('team-d', 'worker', 0);
    api.forbidden.add('patch deployments/scale team-d');
    api.createScaler('team-d', 'workers', spec('jobs-a'));
    await waitFor(() => condition('team-d', 'workers', 'Ready')?.reason === 'Forbidden', { timeoutMs: 15_000, what: 'Forbidden' });
    expect(condition('team-d', 'workers', 'Ready')?.message).toContain('patch deployments/scale (API group apps) in namespace team-d');
    expect(api.events('team-d').some((e) => e.type === 'Warning' && e.reason === 'Forbidden')).toBe(true);
  });

  it('keeps the replicas and turns Ready false when the queue cannot be read (never to zero on an error)', async () => {
    api.createDeployment('team-e', 'worker', 3);
    api.createScaler('team-e', 'workers', spec('no-such-queue', { minReplicas: 0, cooldownSeconds: 0, scaleDownStabilizationSeconds: 0 }));
    await waitFor(() => condition('team-e', 'workers', 'Ready')?.reason === 'QueueUnreadable', { timeoutMs: 15_000, what: 'QueueUnreadable' });
    const before = api.requests.length;
    await waitFor(() => api.requests.slice(before).filter((r) => r.path.endsWith('/team-e/deployments/worker/scale')).length >= 2, { what: 'two more polls' });
    expect(api.replicas('team-e', 'worker')).toBe(3);
    expect(api.requests.some((r) => r.method === 'PATCH' && r.path.endsWith('/team-e/deployments/worker/scale'))).toBe(false);
    expect(condition('team-e', 'workers', 'Ready')?.message).toContain('keeping 3 replicas');
  });

  it('restarts its watch after errors and still sees new QueueScalers', async () => {
    api.failNext('GET', /queuescalers$/, 500, 3);
    api.breakWatches();
    api.createDeployment('team-f', 'worker', 0);
    await publish(vhost.connection, 'jobs-f', 12);
    api.createScaler('team-f', 'workers', spec('jobs-f'));
    await waitFor(() => api.replicas('team-f', 'worker') === 2, { timeoutMs: 20_000, what: 'the new scaler reconciled after the watch failed' });
    expect(api.requests.filter((r) => r.path.endsWith('/queuescalers') && r.status === 500).length).toBe(3);
  });

  it('lets a second replica wait, and take over when the leader stops', async () => {
    const second = await startController('ctl-b');
    await waitFor(() => second.output.join('').length > 0 || api.requests.some((r) => r.user === 'ctl-b' && r.path.includes('/leases/')), {
      what: 'ctl-b campaigning',
    });
    const before = api.requests.length;
    await waitFor(() => api.requests.slice(before).filter((r) => r.user === 'ctl-b' && r.path.includes('/leases/')).length >= 2, {
      what: 'ctl-b polling the lease',
    });
    expect(api.requests.some((r) => r.user === 'ctl-b' && (r.path.endsWith('/scale') || r.path.endsWith('/status')))).toBe(false);

    const leader = controllers[0]!;
    leader.kill('SIGTERM');
    expect(await leader.exited).toBe(0);
    await waitFor(() => (api.lease('ops', 'nws-watermark-controller') as { spec: { holderIdentity?: string } }).spec.holderIdentity === 'ctl-b', {
      timeoutMs: 15_000,
      what: 'ctl-b to hold the lease',
    });
    await publish(vhost.connection, 'jobs-f', 20); // 32 messages: 4 replicas
    await waitFor(() => api.replicas('team-f', 'worker') === 4, { timeoutMs: 15_000, what: 'ctl-b scaling' });
    const last = api.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/team-f/deployments/worker/scale')).at(-1);
    expect(last?.user).toBe('ctl-b');
  });
});
