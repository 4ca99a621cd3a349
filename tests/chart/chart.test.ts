/**
 * The Helm chart, offline: the real helm binary lints and renders it with the default values and
 * the values files of tests/chart/values; every rendered object is validated against the Kubernetes
 * schemas (kubernetes-models, prometheus-operator models, the QueueScaler CRD), then checked for
 * what the schemas cannot see: resources, probes, restricted security, pinned images, labels,
 * the worker's replicas, least-privilege RBAC, network policies, environment, monitoring.
 */
import { Ajv } from 'ajv';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { findKey } from '../../src/api/access/api-keys.js';
import { PAUSED_REPLICAS_ANNOTATION, isInvalidSpec, parseScaler } from '../../src/controller/queue-scaler.js';
import { loadApiKeys } from '../../src/api/access/load-keys.js';
import { apiEnv, loadConfig, optimizerEnv, workerEnv } from '../../src/shared/config.js';
import { prepareLogo } from '../../src/optimizer/logo.js';
import { loadPresetCatalog } from '../../src/shared/watermark/presets-file.js';
import * as config from '../../src/shared/config.js';
import { CHART, REPO, helm } from './helm.js';
import {
  EXISTING_SECRETS,
  NAMESPACE,
  RELEASE,
  byKind,
  containerEnv,
  containers,
  find,
  podTemplates,
  rabbitmqClusterValidator,
  render,
  secretValues,
  selects,
  valuesFile,
  type K8sObject,
} from './manifests.js';

const FULL = `${RELEASE}-nws-watermark`;
const MONITORING_API = ['monitoring.coreos.com/v1'];
const VALUES_FILES = readdirSync(join(REPO, 'tests/chart/values'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const CHART_VALUES_FILES = readdirSync(CHART)
  .filter((f) => /^values-.+\.yaml$/.test(f))
  .sort();
const COMPONENTS = ['api', 'optimizer', 'worker', 'controller'] as const;

interface Scenario {
  name: string;
  valuesFiles: string[];
  apiVersions: string[];
}
const SCENARIOS: Scenario[] = [
  { name: 'default values', valuesFiles: [], apiVersions: [] },
  ...VALUES_FILES.map((f) => ({ name: f, valuesFiles: [valuesFile(f)], apiVersions: f === 'monitoring.yaml' ? MONITORING_API : [] })),
  // The values files the chart ships for users (kind, a throwaway dev install).
  ...CHART_VALUES_FILES.map((f) => ({ name: f, valuesFiles: [join(CHART, f)], apiVersions: [] })),
];

const rendered = new Map<string, K8sObject[]>();
beforeAll(async () => {
  for (const s of SCENARIOS) rendered.set(s.name, await render({ valuesFiles: s.valuesFiles, apiVersions: s.apiVersions }));
}, 120_000);
const objectsOf = (name: string) => {
  const objects = rendered.get(name);
  if (!objects) throw new Error(`scenario ${name} not rendered`);
  return objects;
};

describe('helm lint --strict', () => {
  it.each(SCENARIOS.map((s) => [s.name, s] as const))('passes with %s', async (_name, s) => {
    const args = ['lint', '--strict', CHART, '--namespace', NAMESPACE, ...s.valuesFiles.flatMap((f) => ['--values', f])];
    const result = await helm(...args);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('0 chart(s) failed');
  });

  it('the values schema rejects unknown keys, a latest tag and out-of-range values', async () => {
    for (const set of ['bogus=1', 'rabbitmq.image.tag=latest', 'rabbitmq.replicas=0', 'optimizer.watermark.position=middle', 'api.port=70000']) {
      const result = await helm('template', RELEASE, CHART, '--set', set);
      expect(result.code, set).not.toBe(0);
      expect(result.stderr, set).toMatch(/schema/);
    }
  });

  it('the values schema is self-contained', () => {
    const text = readFileSync(join(CHART, 'values.schema.json'), 'utf8');
    const refs = [...text.matchAll(/"\$ref"\s*:\s*"([^"]+)"/g)].map((m) => m[1]);
    expect(refs.filter((r) => !r?.startsWith('#'))).toEqual([]);
  });
});

const crd = () => {
  const path = join(CHART, 'crds/queuescaler.yaml');
  if (!existsSync(path)) throw new Error(`the QueueScaler CRD is missing at ${path}`);
  return parse(readFileSync(path, 'utf8')) as K8sObject;
};

describe('schemas of the rendered objects', () => {
  const queueScalerValidator = () => {
    const version = (crd().spec.versions as { name: string; schema: { openAPIV3Schema: object } }[]).find((v) => v.name === 'v1alpha1');
    if (!version) throw new Error('the CRD serves no v1alpha1');
    // Structural schema: the x-kubernetes-* keywords are the API server's, not JSON Schema's.
    const ajv = new Ajv({ strict: false, allErrors: true });
    return ajv.compile(version.schema.openAPIV3Schema);
  };

  async function validateObject(o: K8sObject): Promise<void> {
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    if (group === 'watermark.nws.io' || group === 'rabbitmq.com') {
      const validate = group === 'rabbitmq.com' ? rabbitmqClusterValidator() : queueScalerValidator();
      const what = `${o.kind}/${o.metadata.name}`;
      if (!validate(o)) throw new Error(`${what}: ${JSON.stringify(validate.errors)}`);
      return;
    }
    const module =
      group === 'monitoring.coreos.com'
        ? `@kubernetes-models/prometheus-operator/${group}/${version}/${o.kind}`
        : `kubernetes-models/${group ? `${group}/` : ''}${version}/${o.kind}`;
    const exported = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
    const Model = exported[o.kind];
    if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
    new Model(o).validate();
  }

  it.each(SCENARIOS.map((s) => [s.name] as const))('every object rendered with %s is valid', async (name) => {
    const objects = objectsOf(name);
    expect(objects.length).toBeGreaterThan(10);
    for (const o of objects) await validateObject(o);
  });

  it('the CRD is a valid CustomResourceDefinition', async () => {
    await validateObject(crd());
  });

  it("the CRD's schema accepts the example QueueScaler and the chart's", () => {
    const validate = queueScalerValidator();
    const example = parse(readFileSync(join(REPO, 'k8s/examples/queuescaler.yaml'), 'utf8')) as K8sObject;
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    const chart = find(objectsOf('default values'), 'QueueScaler', `${FULL}-worker`);
    expect(validate(chart), JSON.stringify(validate.errors)).toBe(true);
  });

  it("the CRD's schema rejects invalid QueueScalers", () => {
    const validate = queueScalerValidator();
    const example = parse(readFileSync(join(REPO, 'k8s/examples/queuescaler.yaml'), 'utf8')) as K8sObject;
    const broken: [string, (spec: Record<string, unknown>) => void][] = [
      ['no scaleTargetRef', (s) => delete s.scaleTargetRef],
      ['no queue', (s) => delete s.queue],
      ['negative minReplicas', (s) => (s.minReplicas = -1)],
      ['maxReplicas as text', (s) => (s.maxReplicas = 'ten')],
      ['scaleTargetRef without a name', (s) => delete (s.scaleTargetRef as Record<string, unknown>).name],
    ];
    for (const [what, breakIt] of broken) {
      const bad = structuredClone(example);
      breakIt(bad.spec as Record<string, unknown>);
      expect(validate(bad), what).toBe(false);
    }
  });
});

describe('containers', () => {
  it.each(SCENARIOS.map((s) => [s.name] as const))('have resources, a pinned image and restricted security (%s)', (name) => {
    for (const { pod, c } of containers(objectsOf(name))) {
      const where = `${pod.owner.kind}/${pod.owner.metadata.name} container ${c.name}`;
      expect(c.resources?.requests?.cpu, where).toBeTruthy();
      expect(c.resources?.requests?.memory, where).toBeTruthy();
      expect(c.resources?.limits?.memory, where).toBeTruthy();
      expect(c.resources?.limits?.cpu, where).toBeTruthy();
      // Pinned: a digest, or an explicit tag that is not latest.
      expect(c.image, where).toMatch(/^[^:@\s]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$/);
      expect(c.image, where).not.toMatch(/:latest$/);
      const sc = c.securityContext ?? {};
      expect(sc.allowPrivilegeEscalation, where).toBe(false);
      expect(sc.readOnlyRootFilesystem, where).toBe(true);
      expect(sc.capabilities?.drop, where).toEqual(['ALL']);
      expect(sc.capabilities?.add, where).toBeUndefined();
      expect(sc.privileged ?? false, where).toBe(false);
      expect(sc.runAsNonRoot ?? pod.spec.securityContext?.runAsNonRoot, where).toBe(true);
      expect(sc.runAsUser ?? pod.spec.securityContext?.runAsUser, where).toBeGreaterThan(0);
      expect(sc.seccompProfile?.type ?? pod.spec.securityContext?.seccompProfile?.type, where).toBe('RuntimeDefault');
      // The root file system is read-only: /tmp is an emptyDir.
      const tmp = (c.volumeMounts ?? []).find((m: { mountPath: string }) => m.mountPath === '/tmp');
      expect(tmp, `${where}: /tmp mount`).toBeDefined();
      const volume = (pod.spec.volumes ?? []).find((v: { name: string }) => v.name === tmp?.name);
      expect(volume?.emptyDir, `${where}: /tmp is an emptyDir`).toBeDefined();
      expect(pod.spec.hostNetwork ?? false, where).toBe(false);
    }
  });

  it.each(SCENARIOS.map((s) => [s.name] as const))('that run for good have liveness and readiness probes (%s)', (name) => {
    const longRunning = containers(objectsOf(name)).filter(({ pod, init }) => pod.longRunning && !init);
    expect(longRunning.length).toBeGreaterThanOrEqual(4);
    for (const { pod, c } of longRunning) {
      const where = `${pod.owner.kind}/${pod.owner.metadata.name} container ${c.name}`;
      expect(c.livenessProbe, where).toBeDefined();
      expect(c.readinessProbe, where).toBeDefined();
      for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter(Boolean)) {
        const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
        if (typeof port === 'string') {
          expect(
            (c.ports ?? []).map((p: { name: string }) => p.name),
            `${where}: probe port ${port}`,
          ).toContain(port);
        }
      }
    }
  });

  it('our components probe /healthz for liveness and /readyz for readiness on their service port', () => {
    const objects = objectsOf('default values');
    const ports = { api: 3000, optimizer: 3001, worker: 3002, controller: 3003 };
    for (const component of COMPONENTS) {
      const deployment = find(objects, 'Deployment', `${FULL}-${component}`);
      const [c] = deployment.spec.template.spec.containers;
      expect(c.args).toEqual([component]);
      expect(c.image).toBe('nws-watermark:0.1.0');
      expect(c.ports).toEqual([{ name: 'http', containerPort: ports[component], protocol: 'TCP' }]);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    }
  });

  it('the image can be given by digest', async () => {
    const objects = await render({ set: [`image.digest=sha256:${'a'.repeat(64)}`] });
    const [c] = find(objects, 'Deployment', `${FULL}-api`).spec.template.spec.containers;
    expect(c.image).toBe(`nws-watermark@sha256:${'a'.repeat(64)}`);
  });
});

describe('labels', () => {
  it.each(SCENARIOS.map((s) => [s.name] as const))('follow app.kubernetes.io on every object and pod (%s)', (name) => {
    const objects = objectsOf(name);
    for (const o of objects) {
      const labels = o.metadata.labels ?? {};
      const where = `${o.kind}/${o.metadata.name}`;
      expect(labels['app.kubernetes.io/name'], where).toBe('nws-watermark');
      expect(labels['app.kubernetes.io/instance'], where).toBe(RELEASE);
      expect(labels['app.kubernetes.io/managed-by'], where).toBe('Helm');
      expect(labels['app.kubernetes.io/part-of'], where).toBe('nws-watermark');
      expect(labels['app.kubernetes.io/version'], where).toBe('0.1.0');
      expect(labels['app.kubernetes.io/component'], where).toMatch(/^[a-z-]+$/);
      expect(labels['helm.sh/chart'], where).toBe('nws-watermark-0.1.0');
    }
    for (const pod of podTemplates(objects)) {
      const where = `${pod.owner.kind}/${pod.owner.metadata.name}`;
      expect(pod.labels['app.kubernetes.io/component'], where).toBe(pod.owner.metadata.labels?.['app.kubernetes.io/component']);
      if (pod.owner.spec.selector) {
        // Selectors are immutable: only the stable labels, never version or chart.
        expect(Object.keys(pod.owner.spec.selector.matchLabels).sort(), where).toEqual([
          'app.kubernetes.io/component',
          'app.kubernetes.io/instance',
          'app.kubernetes.io/name',
        ]);
        expect(selects(pod.owner.spec.selector, pod.labels), where).toBe(true);
      }
    }
  });

  it('each of the four components has its Deployment with its component label', () => {
    const objects = objectsOf('default values');
    for (const component of COMPONENTS) {
      expect(find(objects, 'Deployment', `${FULL}-${component}`).metadata.labels?.['app.kubernetes.io/component']).toBe(component);
    }
  });

  it('every Service selects pods the chart creates and targets a named container port', () => {
    for (const name of rendered.keys()) {
      const objects = objectsOf(name);
      const pods = podTemplates(objects).filter((p) => p.longRunning);
      for (const svc of byKind(objects, 'Service')) {
        const targets = pods.filter((p) => selects({ matchLabels: svc.spec.selector }, p.labels));
        expect(targets.length, `${name}: Service ${svc.metadata.name}`).toBeGreaterThan(0);
        for (const port of svc.spec.ports as { name: string; targetPort: string }[]) {
          const names = targets.flatMap((p) => p.spec.containers.flatMap((c: { ports?: { name: string }[] }) => (c.ports ?? []).map((x) => x.name)));
          expect(names, `${name}: Service ${svc.metadata.name} port ${port.name}`).toContain(port.targetPort);
        }
      }
    }
  });
});

describe('the worker and its autoscaler', () => {
  it('renders no replicas for the worker: the controller owns them', () => {
    const worker = find(objectsOf('default values'), 'Deployment', `${FULL}-worker`);
    expect(worker.spec).not.toHaveProperty('replicas');
    for (const c of ['api', 'optimizer']) expect(find(objectsOf('default values'), 'Deployment', `${FULL}-${c}`).spec.replicas).toBe(2);
  });

  it('renders the worker replicas and no controller, RBAC or QueueScaler when the controller is off', () => {
    const objects = objectsOf('controller-off.yaml');
    expect(find(objects, 'Deployment', `${FULL}-worker`).spec.replicas).toBe(3);
    expect(byKind(objects, 'QueueScaler')).toEqual([]);
    // The bucket hook keeps its own, hook-scoped RBAC (checked in bucket-hook.test.ts).
    for (const kind of ['Role', 'RoleBinding', 'ServiceAccount'])
      expect(
        byKind(objects, kind).map((o) => o.metadata.name),
        kind,
      ).toEqual([`${FULL}-minio-bucket`]);
    expect(objects.some((o) => o.metadata.name === `${FULL}-controller`)).toBe(false);
  });

  it('has a QueueScaler that targets the worker Deployment and its queue', () => {
    const objects = objectsOf('default values');
    const qs = find(objects, 'QueueScaler', `${FULL}-worker`);
    expect(qs.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: `${FULL}-worker` });
    expect(qs.spec.queue).toBe('watermark_retry');
    expect(qs.spec.vhost).toBe('watermark');
    expect(qs.spec.maxReplicas).toBeGreaterThanOrEqual(qs.spec.minReplicas);
  });

  it("renders the QueueScaler's fallback, behavior and pause from values, and the controller reads them back", () => {
    const chosen = parse(readFileSync(valuesFile('queuescaler-safety.yaml'), 'utf8')) as { queueScaler: Record<string, unknown> };
    const qs = find(objectsOf('queuescaler-safety.yaml'), 'QueueScaler', `${FULL}-worker`);
    const scaler = parseScaler(qs);
    if (isInvalidSpec(scaler)) throw new Error(scaler.message);
    expect(scaler.spec.fallback).toEqual(chosen.queueScaler.fallback);
    expect(scaler.spec.behavior?.scaleUp?.policies).toEqual((chosen.queueScaler.behavior as { scaleUp: { policies: unknown } }).scaleUp.policies);
    expect(scaler.spec.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(120);
    // 0 is a pause, not "no pause": the annotation is there.
    expect(scaler.pausedReplicas).toBe(0);
  });

  it('renders no fallback, behavior or pause by default', () => {
    const qs = find(objectsOf('default values'), 'QueueScaler', `${FULL}-worker`);
    expect(qs.spec).not.toHaveProperty('fallback');
    expect(qs.spec).not.toHaveProperty('behavior');
    expect(qs.metadata.annotations?.[PAUSED_REPLICAS_ANNOTATION]).toBeUndefined();
  });

  it('the values schema rejects a fallback without replicas and an unknown behavior policy', async () => {
    for (const set of ['queueScaler.fallback.failureThreshold=3', 'queueScaler.behavior.scaleUp.policies[0].type=Pod', 'queueScaler.pausedReplicas=-1']) {
      const result = await helm('template', RELEASE, CHART, '--set', set);
      expect(result.code, set).not.toBe(0);
      expect(result.stderr, set).toMatch(/schema/);
    }
  });

  it('gives the worker time to finish the job in hand before it is killed', () => {
    const worker = find(objectsOf('default values'), 'Deployment', `${FULL}-worker`);
    const env = Object.fromEntries((worker.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    expect(Number(env.SHUTDOWN_GRACE_MS) / 1000).toBeLessThan(worker.spec.template.spec.terminationGracePeriodSeconds);
  });
});

describe('RBAC of the controller', () => {
  /**
   * The Kubernetes API calls of src/controller, read from its source: @kubernetes/client-node method
   * names and informers, mapped to (API group, resource, verb). A call this map does not know fails
   * the test, so a new call in the controller is a conscious change to the chart's Role.
   */
  const CALLS: Record<string, [string, string, string[]]> = {
    readNamespacedDeploymentScale: ['apps', 'deployments/scale', ['get']],
    patchNamespacedDeploymentScale: ['apps', 'deployments/scale', ['patch']],
    replaceNamespacedDeploymentScale: ['apps', 'deployments/scale', ['update']],
    readNamespacedStatefulSetScale: ['apps', 'statefulsets/scale', ['get']],
    patchNamespacedStatefulSetScale: ['apps', 'statefulsets/scale', ['patch']],
    readNamespacedLease: ['coordination.k8s.io', 'leases', ['get']],
    createNamespacedLease: ['coordination.k8s.io', 'leases', ['create']],
    replaceNamespacedLease: ['coordination.k8s.io', 'leases', ['update']],
    patchNamespacedLease: ['coordination.k8s.io', 'leases', ['patch']],
    createNamespacedEvent: ['', 'events', ['create']],
    patchNamespacedEvent: ['', 'events', ['patch']],
    listNamespacedCustomObject: ['watermark.nws.io', 'queuescalers', ['list']],
    listClusterCustomObject: ['watermark.nws.io', 'queuescalers', ['list']],
    getNamespacedCustomObject: ['watermark.nws.io', 'queuescalers', ['get']],
    patchNamespacedCustomObjectStatus: ['watermark.nws.io', 'queuescalers/status', ['patch']],
    replaceNamespacedCustomObjectStatus: ['watermark.nws.io', 'queuescalers/status', ['update']],
    makeInformer: ['watermark.nws.io', 'queuescalers', ['list', 'watch']],
  };

  function sourceFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  }

  function usedByController(): Map<string, Set<string>> {
    const dir = join(REPO, 'src/controller');
    if (!existsSync(dir)) throw new Error('src/controller is missing: nothing to derive the RBAC from');
    const used = new Map<string, Set<string>>();
    for (const file of sourceFiles(dir)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\b((?:read|list|create|replace|patch|delete|get|watch)(?:Namespaced|Cluster)\w+|makeInformer)\s*[(<]/g)) {
        const call = m[1]!;
        const mapped = CALLS[call];
        if (!mapped) throw new Error(`${file} calls ${call}, unknown to this test: add it to CALLS and to the chart's Role`);
        const key = `${mapped[0]} ${mapped[1]}`;
        const verbs = used.get(key) ?? new Set<string>();
        for (const v of mapped[2]) verbs.add(v);
        used.set(key, verbs);
      }
    }
    return used;
  }

  it('grants exactly the verbs the controller uses, in its namespace, without wildcards', () => {
    const objects = objectsOf('default values');
    expect(byKind(objects, 'ClusterRole')).toEqual([]);
    expect(byKind(objects, 'ClusterRoleBinding')).toEqual([]);
    const role = find(objects, 'Role', `${FULL}-controller`);
    // The only other Role is the bucket hook's (bucket-hook.test.ts).
    expect(
      byKind(objects, 'Role')
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual([`${FULL}-controller`, `${FULL}-minio-bucket`]);
    const granted = new Map<string, Set<string>>();
    for (const rule of role?.rules ?? []) {
      for (const field of [rule.apiGroups ?? [], rule.resources ?? [], rule.verbs]) expect(field).not.toContain('*');
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          const key = `${group} ${resource}`;
          const verbs = granted.get(key) ?? new Set<string>();
          for (const v of rule.verbs) verbs.add(v);
          granted.set(key, verbs);
        }
      }
    }
    const asObject = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]).sort());
    expect(asObject(granted)).toEqual(asObject(usedByController()));
  });

  it('derives get and patch on the /scale of every kind the CRD lets a QueueScaler target from the calls in the code', () => {
    interface Schema {
      properties: Record<string, Schema>;
      enum?: string[];
    }
    const version = (crd().spec.versions as { name: string; schema: { openAPIV3Schema: Schema } }[]).find((v) => v.name === 'v1alpha1');
    const kinds = version?.schema.openAPIV3Schema.properties.spec?.properties.scaleTargetRef?.properties.kind?.enum ?? [];
    expect(kinds).toContain('StatefulSet');
    const used = usedByController();
    for (const kind of kinds) expect([...(used.get(`apps ${kind.toLowerCase()}s/scale`) ?? [])].sort(), kind).toEqual(['get', 'patch']);
  });

  it('binds the Role to the controller ServiceAccount; only it and the bucket hook get an API token; it watches its own namespace', () => {
    const objects = objectsOf('default values');
    const binding = find(objects, 'RoleBinding', `${FULL}-controller`);
    expect(binding?.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${FULL}-controller` });
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: `${FULL}-controller`, namespace: NAMESPACE }]);
    for (const pod of podTemplates(objects)) {
      const component = pod.labels['app.kubernetes.io/component'];
      const isController = component === 'controller';
      // The controller, and the bucket hook that reads its store pod's status when it gives up.
      expect(pod.spec.automountServiceAccountToken, pod.owner.metadata.name).toBe(isController || component === 'bucket-hook');
      if (isController) expect(pod.spec.serviceAccountName).toBe(`${FULL}-controller`);
    }
    const env = containerEnv(find(objects, 'Deployment', `${FULL}-controller`).spec.template.spec.containers[0], secretValues(objects));
    expect(env.WATCH_NAMESPACE).toBe(NAMESPACE);
    expect(env.LEASE_NAMESPACE).toBe(NAMESPACE);
    expect(env.CONTROLLER_MODE).toBe('kubernetes');
  });
});

describe('network policies', () => {
  const peersOf = (policy: K8sObject) => ((policy.spec.ingress ?? []) as { from?: Record<string, unknown>[] }[]).flatMap((rule) => rule.from ?? []);

  it.each(SCENARIOS.map((s) => s.name))('select pods the chart creates (%s)', (name) => {
    const objects = objectsOf(name);
    const pods = podTemplates(objects);
    const policies = byKind(objects, 'NetworkPolicy');
    expect(policies.length).toBeGreaterThan(0);
    for (const policy of policies) {
      expect(
        pods.some((p) => selects(policy.spec.podSelector, p.labels)),
        `${policy.metadata.name} selects nothing`,
      ).toBe(true);
      for (const peer of peersOf(policy)) {
        if (peer.podSelector && !peer.namespaceSelector) {
          expect(
            pods.some((p) => selects(peer.podSelector as never, p.labels)),
            `${policy.metadata.name}: peer selects nothing`,
          ).toBe(true);
        }
      }
    }
    // Every pod of the release is under the default deny.
    const deny = find(objects, 'NetworkPolicy', `${FULL}-default-deny`);
    expect(deny.spec.ingress).toBeUndefined();
    for (const p of pods) expect(selects(deny.spec.podSelector, p.labels), p.owner.metadata.name).toBe(true);
  });

  it.each(SCENARIOS.map((s) => s.name))('open only ports the selected pods serve, and close every store to outsiders (%s)', (name) => {
    const objects = objectsOf(name);
    const pods = podTemplates(objects).filter((p) => p.longRunning);
    for (const policy of byKind(objects, 'NetworkPolicy')) {
      const selected = pods.filter((p) => selects(policy.spec.podSelector, p.labels));
      const served = new Set(
        selected.flatMap((p) => (p.spec.containers as { ports?: { name: string }[] }[]).flatMap((c) => (c.ports ?? []).map((x) => x.name))),
      );
      for (const rule of (policy.spec.ingress ?? []) as { ports?: { port: string }[] }[]) {
        for (const port of rule.ports ?? []) expect(served, `${name}: ${policy.metadata.name} port ${port.port}`).toContain(port.port);
      }
    }
    for (const store of ['rabbitmq', 'redis', 'minio', 'seaweedfs']) {
      if (!pods.some((p) => p.labels['app.kubernetes.io/component'] === store)) continue;
      const allowed = allowedFrom(objects, store);
      expect(allowed.anyone, `${name}: ${store}`).toBe(false);
      for (const c of allowed.components) expect(['api', 'worker', 'controller', 'bucket-hook', store], `${name}: ${store} from ${c}`).toContain(c);
    }
  });

  /** Which components may open a connection to `target` on one of its ports, by the policies. */
  function allowedFrom(objects: K8sObject[], target: string): { anyone: boolean; components: Set<string>; external: number } {
    const pods = podTemplates(objects);
    const targetPod = pods.find((p) => p.labels['app.kubernetes.io/component'] === target);
    if (!targetPod) throw new Error(`no ${target} pod`);
    const result = { anyone: false, components: new Set<string>(), external: 0 };
    for (const policy of byKind(objects, 'NetworkPolicy').filter((np) => selects(np.spec.podSelector, targetPod.labels))) {
      for (const rule of (policy.spec.ingress ?? []) as { from?: Record<string, any>[] }[]) {
        if (!rule.from) {
          result.anyone = true;
          continue;
        }
        for (const peer of rule.from) {
          if (peer.namespaceSelector || peer.ipBlock) {
            result.external += 1;
            continue;
          }
          for (const p of pods.filter((pod) => selects(peer.podSelector, pod.labels))) result.components.add(p.labels['app.kubernetes.io/component']!);
        }
      }
    }
    return result;
  }

  it('let outside traffic reach only the api; only the api and workers reach the optimizer; only our pods reach the stores', () => {
    const objects = objectsOf('default values');
    expect(allowedFrom(objects, 'api').anyone).toBe(true);
    for (const c of ['optimizer', 'worker', 'controller', 'rabbitmq', 'redis', 'minio']) {
      const allowed = allowedFrom(objects, c);
      expect(allowed.anyone, c).toBe(false);
      expect(allowed.external, c).toBe(0);
    }
    expect([...allowedFrom(objects, 'optimizer').components].sort()).toEqual(['api', 'worker']);
    expect([...allowedFrom(objects, 'rabbitmq').components].sort()).toEqual(['api', 'controller', 'rabbitmq', 'worker']);
    expect([...allowedFrom(objects, 'redis').components].sort()).toEqual(['api', 'worker']);
    expect([...allowedFrom(objects, 'minio').components].sort()).toEqual(['api', 'bucket-hook', 'worker']);
  });

  it('admit metrics scrapers from the configured namespaces on the metrics ports only', () => {
    const objects = objectsOf('monitoring.yaml');
    for (const policy of byKind(objects, 'NetworkPolicy')) {
      for (const rule of (policy.spec.ingress ?? []) as { from?: Record<string, unknown>[]; ports?: { port: string }[] }[]) {
        if (rule.from?.some((p) => p.namespaceSelector)) {
          expect(
            rule.ports?.map((p) => p.port),
            policy.metadata.name,
          ).toEqual([expect.stringMatching(/^(http|prometheus|s3)$/)]);
        }
      }
    }
    for (const c of ['worker', 'controller', 'optimizer', 'rabbitmq']) expect(allowedFrom(objects, c).external, c).toBe(1);
  });

  it('are absent when switched off', async () => {
    expect(byKind(await render({ set: ['networkPolicy.enabled=false'] }), 'NetworkPolicy')).toEqual([]);
  });
});

describe('environment of the services', () => {
  const schemas: Record<string, Parameters<typeof loadConfig>[0]> = { api: apiEnv, worker: workerEnv, optimizer: optimizerEnv };
  const controllerEnv = (config as Record<string, unknown>).controllerEnv as Parameters<typeof loadConfig>[0] | undefined;
  if (controllerEnv) schemas.controller = controllerEnv;

  /** Variables a service must be given in a cluster: no default, or a default that only fits one machine. */
  function required(schema: Parameters<typeof loadConfig>[0]): string[] {
    const names = new Set<string>();
    const parsed = schema.safeParse({});
    if (!parsed.success) for (const issue of parsed.error.issues) names.add(String(issue.path[0]));
    else {
      for (const [name, value] of Object.entries(parsed.data as Record<string, unknown>)) {
        if (typeof value === 'string' && (/127\.0\.0\.1|localhost/.test(value) || value === 'S3RVER')) names.add(name);
      }
    }
    return [...names].sort();
  }

  it('the required set covers the brokers, stores and the optimizer', () => {
    expect(required(apiEnv)).toEqual(expect.arrayContaining(['RABBITMQ_URL', 'REDIS_URL', 'S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'OPTIMIZER_URL']));
  });

  it.each(SCENARIOS.map((s) => [s.name] as const))('every variable the services require is set and valid (%s)', (name) => {
    const objects = objectsOf(name);
    const secrets = secretValues(objects, EXISTING_SECRETS);
    for (const [component, schema] of Object.entries(schemas)) {
      const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULL}-${component}`);
      if (!deployment) {
        expect(component, `${name}: no Deployment for ${component}`).toBe('controller');
        continue;
      }
      const env = containerEnv(deployment.spec.template.spec.containers[0], secrets);
      for (const variable of required(schema)) {
        expect(env[variable], `${name}: ${component} ${variable}`).toBeTruthy();
        expect(env[variable], `${name}: ${component} ${variable}`).not.toMatch(/127\.0\.0\.1|localhost|\$\(/);
      }
      expect(env.S3_ACCESS_KEY ?? 'unset', `${name}: ${component}`).not.toBe('S3RVER');
      // The service would start with this environment: every value passes its own validation.
      expect(() => loadConfig(schema, env), `${name}: ${component}`).not.toThrow();
      expect(Number(env.PORT)).toBe(deployment.spec.template.spec.containers[0].ports[0].containerPort);
    }
  });

  it('points the services at the in-cluster RabbitMQ, Redis, MinIO and optimizer by default', () => {
    const objects = objectsOf('default values');
    const env = containerEnv(find(objects, 'Deployment', `${FULL}-api`).spec.template.spec.containers[0], secretValues(objects));
    expect(env.RABBITMQ_URL).toMatch(new RegExp(`^amqp://nws:[A-Za-z0-9]{32}@${FULL}-rabbitmq:5672/watermark$`));
    expect(env.REDIS_URL).toMatch(new RegExp(`^redis://:[A-Za-z0-9]{32}@${FULL}-redis:6379/0$`));
    expect(env.S3_ENDPOINT).toBe(`http://${FULL}-minio:9000`);
    expect(env.OPTIMIZER_URL).toBe(`http://${FULL}-optimizer:3001`);
    expect(env.RABBITMQ_QUEUE_TYPE).toBe('classic');
  });

  it('uses the external endpoints, by URL and by existing Secret, when the services are off', () => {
    const objects = objectsOf('external-services.yaml');
    for (const kind of ['StatefulSet', 'PersistentVolumeClaim', 'Job']) expect(byKind(objects, kind), kind).toEqual([]);
    // Dashboards stay: an external RabbitMQ with its prometheus plugin is still worth a dashboard.
    const isDashboard = (o: (typeof objects)[number]) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1';
    expect(objects.filter((o) => /rabbitmq|redis|minio/.test(o.metadata.name) && o.kind !== 'Secret' && !isDashboard(o))).toEqual([]);
    const env = containerEnv(find(objects, 'Deployment', `${FULL}-worker`).spec.template.spec.containers[0], secretValues(objects, EXISTING_SECRETS));
    expect(env.RABBITMQ_URL).toBe('amqp://nws:s3cret@rabbitmq.shared.svc:5672/watermark');
    expect(env.REDIS_URL).toBe(EXISTING_SECRETS['shared-redis']?.url);
    expect(env.S3_ENDPOINT).toBe('https://s3.eu-west-1.amazonaws.com');
    expect(env.S3_BUCKET).toBe('nws-watermark-prod');
    expect(byKind(objects, 'Secret').map((s) => s.metadata.name)).not.toContain('shared-redis');
    const controller = containerEnv(find(objects, 'Deployment', `${FULL}-controller`).spec.template.spec.containers[0], secretValues(objects));
    expect(controller.RABBITMQ_MANAGEMENT_URL).toBe('http://nws:s3cret@rabbitmq.shared.svc:15672');
  });

  it('refuses to render external services without their endpoint', async () => {
    const result = await helm('template', RELEASE, CHART, '--set', 'minio.enabled=false');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('s3.endpoint is required');
  });
});

describe('secrets', () => {
  it('are generated, never defaults, and differ between installs', async () => {
    const first = secretValues(objectsOf('default values'));
    const second = secretValues(await render());
    const generated: [string, string][] = [
      [`${FULL}-rabbitmq`, 'password'],
      [`${FULL}-rabbitmq`, 'admin-password'],
      [`${FULL}-rabbitmq`, 'erlang-cookie'],
      [`${FULL}-redis`, 'password'],
      [`${FULL}-minio`, 'root-password'],
      [`${FULL}-api-keys`, 'api-key'],
      [`${FULL}-url-signing`, 'signing-keys'],
    ];
    for (const [secret, key] of generated) {
      const value = first.get(secret)?.[key] ?? '';
      expect(value.length, `${secret}.${key}`).toBeGreaterThanOrEqual(32);
      expect(['guest', 'password', 'minioadmin', 'admin', 'changeme']).not.toContain(value);
      expect(second.get(secret)?.[key], `${secret}.${key} is random`).not.toBe(value);
    }
  });

  it('are kept across upgrades: the template reads the Secret already in the cluster', () => {
    const helpers = readFileSync(join(CHART, 'templates/_helpers.tpl'), 'utf8');
    expect(helpers).toMatch(/lookup "v1" "Secret" \.ctx\.Release\.Namespace \.secret/);
    const secrets = byKind(objectsOf('default values'), 'Secret');
    for (const s of secrets) expect(s.metadata.annotations?.['helm.sh/resource-policy'], s.metadata.name).toBe('keep');
  });

  it('come from an existing Secret when named, and none is rendered', async () => {
    const objects = await render({
      set: [
        'rabbitmq.auth.existingSecret=my-rabbit',
        'redis.auth.existingSecret=my-redis',
        'minio.auth.existingSecret=my-minio',
        'api.auth.existingSecret=my-keys',
        'api.signedUrls.existingSecret=my-signing',
      ],
    });
    expect(byKind(objects, 'Secret')).toEqual([]);
    const refs = containers(objects).flatMap(({ c }) =>
      ((c.env ?? []) as { valueFrom?: { secretKeyRef?: { name: string } } }[]).map((e) => e.valueFrom?.secretKeyRef?.name).filter(Boolean),
    );
    expect(new Set(refs)).toEqual(new Set(['my-rabbit', 'my-redis', 'my-minio', 'my-signing']));
    const rabbit = find(objects, 'StatefulSet', `${FULL}-rabbitmq`).spec.template.spec.volumes as { secret?: { secretName: string } }[];
    expect(rabbit.filter((v) => v.secret).map((v) => v.secret?.secretName)).toEqual(['my-rabbit', 'my-rabbit']);
  });

  it('RabbitMQ users, vhost and permissions come from definitions in the Secret', () => {
    const objects = objectsOf('default values');
    const secret = secretValues(objects).get(`${FULL}-rabbitmq`) ?? {};
    const definitions = JSON.parse(secret['definitions.json'] ?? '{}') as {
      users: { name: string; password: string; tags: string[] }[];
      vhosts: { name: string }[];
      permissions: { user: string; vhost: string }[];
    };
    expect(definitions.users.map((u) => u.name).sort()).toEqual(['admin', 'nws']);
    expect(definitions.users.find((u) => u.name === 'nws')?.password).toBe(secret.password);
    expect(definitions.vhosts).toEqual([{ name: 'watermark' }]);
    expect(definitions.permissions.map((p) => `${p.user}@${p.vhost}`).sort()).toEqual(['admin@watermark', 'nws@watermark']);
    const config = find(objects, 'ConfigMap', `${FULL}-rabbitmq-config`).data ?? {};
    expect(config['rabbitmq.conf']).toContain('load_definitions = /etc/rabbitmq/definitions/definitions.json');
    expect(config['rabbitmq.conf']).toMatch(/^loopback_users\.guest = true$/m);
    const env = find(objects, 'StatefulSet', `${FULL}-rabbitmq`).spec.template.spec.containers[0].env as { name: string; value?: string }[];
    // Only our file: not the image's conf.d defaults, which let guest in from the network.
    expect(env.find((e) => e.name === 'RABBITMQ_CONFIG_FILES')?.value).toBe('/etc/rabbitmq/config');
    expect(config.enabled_plugins).toContain('rabbitmq_prometheus');
  });
});

describe('backing services', () => {
  it('RabbitMQ runs the official 4.x management image, one node by default', () => {
    const sts = find(objectsOf('default values'), 'StatefulSet', `${FULL}-rabbitmq`);
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.template.spec.containers[0].image).toMatch(/^rabbitmq:4\.\d+\.\d+-management$/);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('8Gi');
  });

  it('RabbitMQ forms a 3-node cluster with Kubernetes peer discovery and quorum queues', () => {
    const objects = objectsOf('rabbitmq-cluster.yaml');
    const sts = find(objects, 'StatefulSet', `${FULL}-rabbitmq`);
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.serviceName).toBe(`${FULL}-rabbitmq-nodes`);
    const headless = find(objects, 'Service', `${FULL}-rabbitmq-nodes`);
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.publishNotReadyAddresses).toBe(true);
    const config = find(objects, 'ConfigMap', `${FULL}-rabbitmq-config`).data ?? {};
    expect(config['rabbitmq.conf']).toMatch(/^cluster_formation\.peer_discovery_backend = k8s$/m);
    expect(config['rabbitmq.conf']).toMatch(/^default_queue_type = quorum$/m);
    expect(config.enabled_plugins).toContain('rabbitmq_peer_discovery_k8s');
    const env = Object.fromEntries((sts.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    expect(env.RABBITMQ_USE_LONGNAME).toBe('true');
    expect(env.RABBITMQ_NODENAME).toBe(`rabbit@$(POD_NAME).${FULL}-rabbitmq-nodes.$(POD_NAMESPACE).svc.cluster.local`);
    for (const c of ['api', 'worker']) {
      const e = containerEnv(find(objects, 'Deployment', `${FULL}-${c}`).spec.template.spec.containers[0], secretValues(objects));
      expect(e.RABBITMQ_QUEUE_TYPE, c).toBe('quorum');
    }
    expect(find(objects, 'PodDisruptionBudget', `${FULL}-rabbitmq`).spec.maxUnavailable).toBe(1);
  });

  it('Redis keeps its data on a PVC, MinIO is pinned and creates the bucket', () => {
    const objects = objectsOf('default values');
    const redis = find(objects, 'StatefulSet', `${FULL}-redis`);
    expect(redis.spec.template.spec.containers[0].args).toEqual(expect.arrayContaining(['--appendonly', 'yes']));
    expect(redis.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    const minio = find(objects, 'Deployment', `${FULL}-minio`);
    expect(minio.spec.template.spec.containers[0].image).toMatch(/^quay\.io\/minio\/minio:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
    const job = find(objects, 'Job', `${FULL}-minio-bucket`);
    expect(job.metadata.annotations?.['helm.sh/hook']).toBe('post-install,post-upgrade');
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', '/hook/bucket-hook.mjs']);
  });

  it('PodDisruptionBudgets cover every long-running component', () => {
    const objects = objectsOf('default values');
    const pdbs = byKind(objects, 'PodDisruptionBudget');
    for (const c of ['api', 'optimizer', 'worker', 'controller', 'rabbitmq']) {
      const pod = podTemplates(objects).find((p) => p.labels['app.kubernetes.io/component'] === c);
      expect(
        pdbs.some((pdb) => pod && selects(pdb.spec.selector, pod.labels)),
        c,
      ).toBe(true);
    }
  });
});

describe('ingress, helm test and notes', () => {
  it('routes the ingress host to the api service', () => {
    const objects = objectsOf('ingress.yaml');
    const ingress = find(objects, 'Ingress', FULL);
    expect(ingress.spec.ingressClassName).toBe('nginx');
    const [rule] = ingress.spec.rules;
    expect(rule.host).toBe('watermark.example.com');
    expect(rule.http.paths[0].backend.service).toEqual({ name: `${FULL}-api`, port: { name: 'http' } });
    find(objects, 'Service', `${FULL}-api`);
    expect(byKind(objectsOf('default values'), 'Ingress')).toEqual([]);
  });

  it('has a helm test that uploads a generated image to the api and expects 200', () => {
    const pod = find(objectsOf('default values'), 'Pod', `${FULL}-test-upload`);
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const [c] = pod.spec.containers;
    expect(c.image).toBe('nws-watermark:0.1.0');
    expect(c.env).toEqual([
      { name: 'API_URL', value: `http://${FULL}-api:3000` },
      { name: 'AUTH_REQUIRED', value: 'true' },
      { name: 'API_KEY', valueFrom: { secretKeyRef: { name: `${FULL}-api-keys`, key: 'api-key' } } },
    ]);
    expect(c.args[0]).toContain('/upload');
    expect(c.args[0]).toMatch(/res\.status !== 200/);
  });

  it('NOTES tell how to open the UI, RabbitMQ management and the dashboards', async () => {
    const result = await helm('install', RELEASE, CHART, '--dry-run=client', '--namespace', NAMESPACE);
    expect(result.code, result.stderr).toBe(0);
    const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'));
    expect(notes).toContain(`port-forward svc/${FULL}-api 3000:3000`);
    expect(notes).toContain(`port-forward svc/${FULL}-rabbitmq 15672:15672`);
    expect(notes).toContain('grafana_dashboard');
    expect(notes).toContain(`helm test ${RELEASE}`);
    expect(notes).toContain(`get secret ${FULL}-api-keys -o jsonpath='{.data.api-key}' | base64 -d`);
    expect(notes).toContain('Authorization: Bearer');
  });
});

describe('monitoring', () => {
  const rules = existsSync(join(CHART, 'rules')) ? readdirSync(join(CHART, 'rules')).filter((f) => f.endsWith('.yaml')) : [];
  const dashboards = existsSync(join(CHART, 'dashboards')) ? readdirSync(join(CHART, 'dashboards')).filter((f) => f.endsWith('.json')) : [];

  it('renders no prometheus-operator objects where the cluster lacks the API, even when asked', async () => {
    const objects = await render({ valuesFiles: [valuesFile('monitoring.yaml')] });
    expect(objects.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com'))).toEqual([]);
    expect(objectsOf('default values').filter((o) => o.apiVersion.startsWith('monitoring.coreos.com'))).toEqual([]);
  });

  it("ServiceMonitors carry the selector's labels and select real metrics ports", () => {
    const objects = objectsOf('monitoring.yaml');
    const monitors = byKind(objects, 'ServiceMonitor');
    expect(monitors.length).toBe(2);
    const scraped = new Set<string>();
    for (const sm of monitors) {
      expect(sm.metadata.labels?.release).toBe('kube-prometheus-stack');
      const services = byKind(objects, 'Service').filter((s) => selects(sm.spec.selector, s.metadata.labels ?? {}));
      expect(services.length, sm.metadata.name).toBeGreaterThan(0);
      for (const endpoint of sm.spec.endpoints as { port: string; path: string }[]) {
        for (const svc of services) {
          const port = (svc.spec.ports as { name: string; targetPort: string }[]).find((p) => p.name === endpoint.port);
          expect(port, `${sm.metadata.name}: ${svc.metadata.name} has no port ${endpoint.port}`).toBeDefined();
          // The named port is the container port that serves /metrics.
          const pod = podTemplates(objects).find((p) => selects({ matchLabels: svc.spec.selector }, p.labels));
          const containerPort = pod?.spec.containers[0].ports.find((p: { name: string }) => p.name === port?.targetPort);
          expect(containerPort, `${svc.metadata.name}: container port ${port?.targetPort}`).toBeDefined();
          expect(endpoint.path).toMatch(/^\/metrics/);
          scraped.add(svc.metadata.labels?.['app.kubernetes.io/component'] ?? '');
        }
      }
    }
    expect([...scraped].sort()).toEqual(['api', 'controller', 'optimizer', 'rabbitmq', 'worker']);
    // Our services serve /metrics on the port the probes use: the same `http` port.
    for (const c of COMPONENTS) expect(find(objects, 'Service', `${FULL}-${c}`).spec.ports[0].name).toBe('http');
    const rabbit = find(objects, 'StatefulSet', `${FULL}-rabbitmq`).spec.template.spec.containers[0];
    expect(rabbit.ports.find((p: { name: string }) => p.name === 'prometheus').containerPort).toBe(15692);
  });

  it('wraps every rule file of rules/ in a PrometheusRule', () => {
    const objects = objectsOf('monitoring.yaml');
    const wrapped = byKind(objects, 'PrometheusRule');
    expect(wrapped.length).toBe(rules.length);
    for (const file of rules) {
      const rule = find(objects, 'PrometheusRule', `${FULL}-${file.replace(/\.yaml$/, '')}`);
      expect(rule.metadata.labels?.release).toBe('kube-prometheus-stack');
      expect(rule.spec).toEqual(parse(readFileSync(join(CHART, 'rules', file), 'utf8')));
    }
  });

  it('ships every dashboard of dashboards/ as a grafana_dashboard ConfigMap', () => {
    const objects = objectsOf('default values');
    const maps = byKind(objects, 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
    expect(maps.length).toBe(dashboards.length);
    for (const file of dashboards) {
      const map = maps.find((m) => m.data?.[file] !== undefined);
      expect(map, file).toBeDefined();
      expect(JSON.parse(map?.data?.[file] ?? '')).toEqual(JSON.parse(readFileSync(join(CHART, 'dashboards', file), 'utf8')));
    }
  });

  it('the rule files parse as Prometheus rule groups', () => {
    for (const file of rules) {
      const docs = parseAllDocuments(readFileSync(join(CHART, 'rules', file), 'utf8'));
      expect(docs, file).toHaveLength(1);
      expect(Array.isArray((docs[0]?.toJS() as { groups?: unknown }).groups), file).toBe(true);
    }
  });
});

describe('presets', () => {
  const SERVICES = ['api', 'optimizer', 'worker'] as const;
  const specOf = (objects: K8sObject[], component: string) => find(objects, 'Deployment', `${FULL}-${component}`).spec.template;

  it('renders no presets file without presets: default comes from the variables', () => {
    const objects = objectsOf('default values');
    expect(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === `${FULL}-presets`)).toBe(false);
    for (const component of SERVICES) {
      const env = containerEnv(specOf(objects, component).spec.containers[0], secretValues(objects));
      expect(env.PRESETS_FILE, component).toBeUndefined();
      expect(env).toMatchObject({ WATERMARK_TEXT: 'NWS', RESIZE_MAX_EDGE: '2048', DEFAULT_PRESET_ALLOWS: 'all' });
    }
  });

  it('mounts one presets file into the api, the optimizer and the worker, which each load it as they would at start', async () => {
    const objects = objectsOf('presets.yaml');
    const configMap = find(objects, 'ConfigMap', `${FULL}-presets`) as K8sObject & { data: Record<string, string>; binaryData: Record<string, string> };
    // The ConfigMap as the kubelet mounts it: each key a file of one directory.
    const dir = mkdtempSync(join(tmpdir(), 'nws-chart-presets-'));
    for (const [key, text] of Object.entries(configMap.data)) writeFileSync(join(dir, key), text);
    for (const [key, data] of Object.entries(configMap.binaryData)) writeFileSync(join(dir, key), Buffer.from(data, 'base64'));
    const checksums = new Set<string>();
    for (const component of SERVICES) {
      const template = specOf(objects, component);
      const env = containerEnv(template.spec.containers[0], secretValues(objects));
      const mount = (template.spec.containers[0].volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === 'presets');
      expect(env.PRESETS_FILE, component).toBe(`${mount?.mountPath}/presets.yaml`);
      expect(template.spec.volumes).toContainEqual({ name: 'presets', configMap: { name: `${FULL}-presets` } });
      checksums.add(String(template.metadata.annotations?.['checksum/presets']));
      const schema = component === 'api' ? apiEnv : component === 'optimizer' ? optimizerEnv : workerEnv;
      const catalog = await loadPresetCatalog(loadConfig(schema, { ...env, PRESETS_FILE: join(dir, 'presets.yaml') }), prepareLogo);
      expect([...catalog.presets.keys()]).toEqual(['default', 'web']);
      expect(catalog.presets.get('web')?.settings).toMatchObject({ text: 'ACME', logo: { name: 'acme' }, effort: 'balanced' });
      expect(Object.keys(catalog.presets.get('default')?.allow ?? {})).toEqual(['text', 'format']);
    }
    // The same file everywhere, and pods that roll when it changes.
    expect(checksums.size).toBe(1);
    expect([...checksums][0]).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('api access', () => {
  const apiOf = (objects: K8sObject[]) => find(objects, 'Deployment', `${FULL}-api`).spec.template.spec;
  const testPod = (objects: K8sObject[]) => find(objects, 'Pod', `${FULL}-test-upload`).spec.containers[0];

  it('requires a key by default: one generated key, mounted as the file the api loads', () => {
    const objects = objectsOf('default values');
    const secrets = secretValues(objects);
    const generated = secrets.get(`${FULL}-api-keys`) ?? {};
    const spec = apiOf(objects);
    const env = containerEnv(spec.containers[0], secrets);
    const volume = (spec.volumes as { name: string; secret?: { secretName: string; items: { key: string; path: string }[] } }[]).find(
      (v) => v.name === 'api-keys',
    );
    const mount = (spec.containers[0].volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[]).find((m) => m.name === 'api-keys');
    expect(volume?.secret).toMatchObject({ secretName: `${FULL}-api-keys`, items: [{ key: 'keys.yaml', path: 'keys.yaml' }] });
    expect(mount).toMatchObject({ mountPath: '/etc/nws-watermark/api-keys', readOnly: true });
    expect(env.API_KEYS_FILE).toBe(`${mount?.mountPath}/keys.yaml`);

    // The api itself loads the file as the kubelet would mount it, and knows the key by its secret.
    const dir = mkdtempSync(join(tmpdir(), 'nws-chart-keys-'));
    writeFileSync(join(dir, 'keys.yaml'), generated['keys.yaml'] ?? '');
    const keys = loadApiKeys({ API_KEYS: '', API_KEYS_FILE: join(dir, 'keys.yaml') });
    expect(keys.map((k) => k.id)).toEqual(['default']);
    expect(findKey(keys, generated['api-key'] ?? '')?.id).toBe('default');
    expect(env.URL_SIGNING_KEYS).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(loadConfig(apiEnv, env)).toMatchObject({
      RATE_LIMIT_UPLOADS_PER_MINUTE: 120,
      RATE_LIMIT_BURST: 60,
      UPLOADS_IN_FLIGHT_PER_CLIENT: 8,
      TRUST_PROXY: false,
    });
  });

  it('gives the helm test the generated key, and has it check the refusal without one', () => {
    const objects = objectsOf('default values');
    const env = containerEnv(testPod(objects), secretValues(objects));
    expect(env.AUTH_REQUIRED).toBe('true');
    expect(env.API_KEY).toBe(secretValues(objects).get(`${FULL}-api-keys`)?.['api-key']);
  });

  it("mounts the operator's own key Secret, generating none, and names its key for the test when told", async () => {
    const objects = await render({
      set: ['api.auth.existingSecret=team-keys', 'api.auth.existingSecretKey=keys.json', 'tests.apiKeySecret.name=ci-key', 'tests.apiKeySecret.key=secret'],
    });
    expect(byKind(objects, 'Secret').map((s) => s.metadata.name)).not.toContain(`${FULL}-api-keys`);
    const volume = (apiOf(objects).volumes as { name: string; secret?: unknown }[]).find((v) => v.name === 'api-keys');
    expect(volume?.secret).toMatchObject({ secretName: 'team-keys', items: [{ key: 'keys.json', path: 'keys.yaml' }] });
    const env = containerEnv(testPod(objects), new Map([['ci-key', { secret: 'ci-secret' }]]));
    expect(env.API_KEY).toBe('ci-secret');
  });

  it('is open only when asked, with nothing mounted', async () => {
    const objects = await render({ set: ['api.auth.enabled=false', 'api.signedUrls.enabled=false'] });
    const spec = apiOf(objects);
    const env = containerEnv(spec.containers[0], secretValues(objects));
    expect(env.API_KEYS_FILE).toBeUndefined();
    expect(env.URL_SIGNING_KEYS).toBeUndefined();
    expect((spec.volumes as { name: string }[]).map((v) => v.name)).toEqual(['tmp']);
    expect(byKind(objects, 'Secret').map((s) => s.metadata.name)).not.toContain(`${FULL}-api-keys`);
    expect(containerEnv(testPod(objects), secretValues(objects))).toMatchObject({ AUTH_REQUIRED: 'false' });
  });

  it('passes limits, origins and the trusted proxies to the api as it validates them', async () => {
    const objects = await render({
      set: [
        'api.rateLimit.uploadsPerMinute=30',
        'api.rateLimit.burst=0',
        'api.uploadsInFlightPerClient=2',
        'api.recentResultsBytes=1048576',
        'api.trustProxy=uniquelocal',
      ],
      setJson: ['api.corsOrigins=["https://app.example.com","https://admin.example.com"]'],
    });
    const env = containerEnv(apiOf(objects).containers[0], secretValues(objects));
    expect(loadConfig(apiEnv, env)).toMatchObject({
      RATE_LIMIT_UPLOADS_PER_MINUTE: 30,
      RATE_LIMIT_BURST: 0,
      UPLOADS_IN_FLIGHT_PER_CLIENT: 2,
      RECENT_RESULTS_BYTES: 1_048_576,
      TRUST_PROXY: ['uniquelocal'],
      CORS_ORIGINS: ['https://app.example.com', 'https://admin.example.com'],
    });
  });
});
