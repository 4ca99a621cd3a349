/**
 * The bucket hook: rendered bounded, with least-privilege RBAC; and its script
 * (charts/nws-watermark/files/bucket-hook.mjs) run for real with Node.js against a fake Kubernetes
 * API on loopback, answering the pod and PVC states a cluster gives, and against a real S3 endpoint.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Endpoint, type RunningS3Endpoint } from '../../src/stack/s3-endpoint.js';
import { freePort } from '../helpers/ports.js';
import { CHART, REPO } from './helm.js';
import { NAMESPACE, RELEASE, byKind, find, render, type K8sObject } from './manifests.js';

const FULL = `${RELEASE}-nws-watermark`;
const SCRIPT = join(CHART, 'files/bucket-hook.mjs');
const SELECTOR = `app.kubernetes.io/name=nws-watermark,app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=minio`;
const TOKEN = 'test-service-account-token';

describe('the rendered bucket hook', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render();
  });

  it("is bounded: one try, a deadline past the wait, both inside helm's default 5 minute timeout", () => {
    const job = find(objects, 'Job', `${FULL}-minio-bucket`);
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('post-install,post-upgrade');
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    const [c] = job.spec.template.spec.containers;
    const wait = Number((c.env as { name: string; value?: string }[]).find((e) => e.name === 'WAIT_SECONDS')?.value);
    expect(wait).toBeGreaterThan(0);
    expect(job.spec.activeDeadlineSeconds).toBeGreaterThan(wait);
    expect(job.spec.activeDeadlineSeconds).toBeLessThan(300);
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('runs the script the chart ships, which names the cause when it gives up', () => {
    const map = find(objects, 'ConfigMap', `${FULL}-minio-bucket`);
    expect(map.data?.['bucket-hook.mjs']).toBe(readFileSync(SCRIPT, 'utf8'));
    expect(map.data?.['bucket-hook.mjs']).toContain('is not bound — is there a default StorageClass?');
    const job = find(objects, 'Job', `${FULL}-minio-bucket`);
    const [c] = job.spec.template.spec.containers;
    expect(c.command).toEqual(['node', '/hook/bucket-hook.mjs']);
    const env = Object.fromEntries((c.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    expect(env.STORE_SELECTOR).toBe(SELECTOR);
    expect(env.STORE_NAME).toBe('MinIO');
    expect(env.S3_ENDPOINT).toBe(`http://${FULL}-minio:9000`);
  });

  it('has a ServiceAccount whose Role only reads pods and claims in its namespace, created before the Job', () => {
    const role = find(objects, 'Role', `${FULL}-minio-bucket`);
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get'] },
    ]);
    const binding = find(objects, 'RoleBinding', `${FULL}-minio-bucket`);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${FULL}-minio-bucket` });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: `${FULL}-minio-bucket`, namespace: NAMESPACE }]);
    const job = find(objects, 'Job', `${FULL}-minio-bucket`);
    expect(job.spec.template.spec.serviceAccountName).toBe(`${FULL}-minio-bucket`);
    for (const o of [role, binding, find(objects, 'ServiceAccount', `${FULL}-minio-bucket`), find(objects, 'ConfigMap', `${FULL}-minio-bucket`)]) {
      expect(o.metadata.annotations?.['helm.sh/hook'], o.kind).toBe('post-install,post-upgrade');
      expect(Number(o.metadata.annotations?.['helm.sh/hook-weight']), o.kind).toBeLessThan(0);
    }
  });

  it('is not rendered for an external store', async () => {
    const external = await render({ set: ['objectStore.engine=external', 's3.endpoint=https://s3.example.com', 's3.accessKey=a', 's3.secretKey=b'] });
    expect(byKind(external, 'Job')).toEqual([]);
    expect(external.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'bucket-hook')).toEqual([]);
  });
});

/** A pod of the store as the API shows it. */
function pod(status: Record<string, unknown>, claim = `${FULL}-minio`): Record<string, unknown> {
  return {
    metadata: { name: `${FULL}-minio-7d9f8-abcde` },
    spec: {
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: claim } },
        { name: 'tmp', emptyDir: {} },
      ],
    },
    status,
  };
}
const pending = (extra: Record<string, unknown> = {}) => ({
  phase: 'Pending',
  conditions: [
    { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.' },
  ],
  ...extra,
});

interface Cluster {
  pods?: unknown[];
  claims?: Record<string, unknown>;
  status?: number;
}

describe('the bucket hook script', () => {
  let api: Server;
  let cluster: Cluster = {};
  const requests: { method: string; url: string; auth: string }[] = [];
  let dir: string;
  let s3: RunningS3Endpoint;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nws-bucket-hook-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    api = createServer((req, res) => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization ?? '' });
      const url = new URL(req.url ?? '/', 'http://x');
      const answer = (code: number, body: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (cluster.status) return answer(cluster.status, { kind: 'Status', code: cluster.status });
      if (url.pathname === `/api/v1/namespaces/${NAMESPACE}/pods` && url.searchParams.get('labelSelector') === SELECTOR) {
        return answer(200, { kind: 'PodList', items: cluster.pods ?? [] });
      }
      const claim = new RegExp(`^/api/v1/namespaces/${NAMESPACE}/persistentvolumeclaims/([^/]+)$`).exec(url.pathname)?.[1];
      if (claim && cluster.claims?.[claim]) return answer(200, cluster.claims[claim]);
      return answer(404, { kind: 'Status', code: 404 });
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    s3 = await startS3Endpoint({ host: '127.0.0.1', port: 0, directory: join(dir, 's3'), bucket: 'watermark' });
  });
  afterAll(async () => {
    await new Promise((resolve) => api?.close(resolve));
    await s3?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the script as the Job does, against the fake API; the store refuses connections unless given. */
  async function runHook(
    state: Cluster,
    s3Endpoint?: string,
    bucket = 'watermark',
  ): Promise<{ code: number; stdout: string; stderr: string; terminationMessage: string }> {
    cluster = state;
    requests.length = 0;
    const terminationLog = join(dir, `termination-${Math.random().toString(36).slice(2)}`);
    writeFileSync(terminationLog, '');
    const env = {
      PATH: process.env.PATH ?? '',
      APP_DIR: REPO,
      STORE_NAME: 'MinIO',
      STORE_SELECTOR: SELECTOR,
      POD_NAMESPACE: NAMESPACE,
      WAIT_SECONDS: '0.3',
      RETRY_INTERVAL_MS: '50',
      KUBE_API_URL: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
      KUBE_TOKEN_FILE: join(dir, 'token'),
      TERMINATION_LOG: terminationLog,
      S3_ENDPOINT: s3Endpoint ?? `http://127.0.0.1:${await freePort()}`,
      S3_ACCESS_KEY: 'S3RVER',
      S3_SECRET_KEY: 'S3RVER',
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
    };
    return new Promise((resolve) => {
      execFile(process.execPath, [SCRIPT], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, terminationMessage: readFileSync(terminationLog, 'utf8') });
      });
    });
  }

  it('creates the bucket when the store answers, without asking the API anything', async () => {
    const first = await runHook({}, s3.url, 'made-by-hook');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('bucket made-by-hook: created');
    const again = await runHook({}, s3.url, 'made-by-hook');
    expect(again.stdout).toContain('bucket made-by-hook: exists');
    expect(requests).toEqual([]);
  });

  it('names an unbound PVC without a StorageClass: "is there a default StorageClass?"', async () => {
    const result = await runHook({ pods: [pod(pending())], claims: { [`${FULL}-minio`]: { spec: {}, status: { phase: 'Pending' } } } });
    expect(result.code).toBe(1);
    const message = `the MinIO pod ${FULL}-minio-7d9f8-abcde is Pending: its PVC ${FULL}-minio is not bound — is there a default StorageClass?`;
    expect(result.stderr).toContain(message);
    expect(result.terminationMessage).toContain(message);
    expect(result.stderr).toMatch(/^gave up after 0\.3 s: /);
    // Read-only calls, with the ServiceAccount token.
    expect(requests.map((r) => r.method)).toEqual(['GET', 'GET']);
    for (const r of requests) expect(r.auth).toBe(`Bearer ${TOKEN}`);
  });

  it('names the StorageClass of an unbound PVC that has one', async () => {
    const result = await runHook({
      pods: [pod(pending())],
      claims: { [`${FULL}-minio`]: { spec: { storageClassName: 'gold' }, status: { phase: 'Pending' } } },
    });
    expect(result.stderr).toContain(`its PVC ${FULL}-minio is not bound — does StorageClass "gold" exist and provision volumes?`);
  });

  it('names a pod that cannot be scheduled although its claim is bound', async () => {
    const unschedulable = pending({ conditions: [{ type: 'PodScheduled', status: 'False', message: '0/1 nodes are available: 1 Insufficient memory.' }] });
    const result = await runHook({ pods: [pod(unschedulable)], claims: { [`${FULL}-minio`]: { spec: {}, status: { phase: 'Bound' } } } });
    expect(result.stderr).toContain('is Pending: it cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.');
  });

  it('names an image that does not pull', async () => {
    const status = pending({
      conditions: [{ type: 'PodScheduled', status: 'True' }],
      containerStatuses: [{ name: 'minio', image: 'quay.io/minio/minio:RELEASE.2099-01-01T00-00-00Z', state: { waiting: { reason: 'ImagePullBackOff' } } }],
    });
    const result = await runHook({ pods: [pod(status)], claims: { [`${FULL}-minio`]: { spec: {}, status: { phase: 'Bound' } } } });
    expect(result.stderr).toContain('cannot pull its image quay.io/minio/minio:RELEASE.2099-01-01T00-00-00Z: ImagePullBackOff — is that tag published');
  });

  it('names a crash loop, a pod running unready, a missing pod and a ready store that refuses the call', async () => {
    const crashing = { phase: 'Running', containerStatuses: [{ name: 'minio', restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] };
    expect((await runHook({ pods: [pod(crashing)] })).stderr).toContain('is not running: minio is CrashLoopBackOff (4 restarts)');
    const unready = { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [{ name: 'minio', state: { running: {} } }] };
    expect((await runHook({ pods: [pod(unready)] })).stderr).toContain('is Running but not ready');
    expect((await runHook({ pods: [] })).stderr).toContain(`no MinIO pod exists (selector ${SELECTOR})`);
    const ready = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'minio', state: { running: {} } }] };
    expect((await runHook({ pods: [pod(ready)] })).stderr).toMatch(/is ready, yet the S3 call failed: .+ — are the credentials right/);
  });

  it('says what it saw when the API refuses to show the pods', async () => {
    const result = await runHook({ status: 403 });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /the MinIO did not answer \(.+\), and its pod status could not be read: GET \/api\/v1\/namespaces\/watermark\/pods\?labelSelector=.+: HTTP 403/,
    );
  });
});
