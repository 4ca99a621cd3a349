/**
 * The test tool, not the product: the in-process stand-in of the Kubernetes API server that
 * kubernetes.test.ts runs the controller against. These tests check that it refuses what the real
 * API server refuses (as seen on a real v1.32 control plane), so a controller that passes there
 * does not pass only because the stand-in is lenient.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServerStandIn } from './api-server-stand-in.js';

let api: ApiServerStandIn;

beforeAll(async () => {
  api = new ApiServerStandIn('charts/nws-watermark/crds/queuescaler.yaml', { 'ctl-a': 'token-a' });
  await api.start();
});
afterAll(async () => api?.stop());

describe('test tool: the Kubernetes API stand-in is as strict as the real server', () => {
  const call = (method: string, path: string, body: unknown, contentType = 'application/json', token = 'token-a') =>
    fetch(`${api.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body: JSON.stringify(body) });

  it('rejects a merge body sent as JSON Patch, strategic merge on a custom resource, and stale resourceVersions', async () => {
    api.createDeployment('strict', 'w', 1);
    const scalePath = '/apis/apps/v1/namespaces/strict/deployments/w/scale';
    expect((await call('PATCH', scalePath, { spec: { replicas: 2 } }, 'application/json-patch+json')).status).toBe(400);
    expect((await call('PATCH', scalePath, { metadata: { resourceVersion: '1' }, spec: { replicas: 2 } }, 'application/merge-patch+json')).status).toBe(409);
    expect((await call('PATCH', scalePath, { spec: { replicas: 2 } }, 'application/merge-patch+json', 'wrong')).status).toBe(401);
    api.createScaler('strict', 's', { scaleTargetRef: { name: 'w' }, queue: 'q' });
    const statusPath = '/apis/watermark.nws.io/v1alpha1/namespaces/strict/queuescalers/s/status';
    expect((await call('PATCH', statusPath, { status: {} }, 'application/strategic-merge-patch+json')).status).toBe(415);
    expect((await call('PATCH', statusPath, { status: { queueDepth: 'many' } }, 'application/merge-patch+json')).status).toBe(422);
  });

  it('rejects lease updates without resourceVersion or with millisecond times, and invalid QueueScalers', async () => {
    const leases = '/apis/coordination.k8s.io/v1/namespaces/strict/leases';
    expect((await call('POST', leases, { metadata: { name: 'l' }, spec: { renewTime: new Date().toISOString() } })).status).toBe(400);
    expect((await call('POST', leases, { metadata: { name: 'l' }, spec: { holderIdentity: 'x' } })).status).toBe(201);
    expect((await call('PUT', `${leases}/l`, { metadata: { name: 'l' }, spec: { holderIdentity: 'y' } })).status).toBe(422);
    expect(() => api.createScaler('strict', 'bad', { scaleTargetRef: { name: 'w' }, queue: 'q', minReplicas: 3, maxReplicas: 2 })).toThrow(
      /minReplicas must be less than or equal/,
    );
    expect(() => api.createScaler('strict', 'bad', { scaleTargetRef: { name: 'w' }, queue: 'q', messagesPerReplica: 0 })).toThrow(/must be ≥ 1/);
  });
});
