/**
 * Rendered manifests of the chart as objects: `helm template` parsed with `yaml`, plus the small
 * queries the chart tests ask of them (pods, containers, selectors, secrets, environment).
 */
import { Ajv } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CHART, REPO, helm } from './helm.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // rendered YAML, checked field by field
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  rules?: { apiGroups?: string[]; resources?: string[]; verbs: string[]; resourceNames?: string[] }[];
  [key: string]: unknown;
}

export interface RenderOptions {
  valuesFiles?: string[];
  set?: string[];
  /** `--set-json` values: lists and objects. */
  setJson?: string[];
  apiVersions?: string[];
  showOnly?: string;
}

export const RELEASE = 'wm';
export const NAMESPACE = 'watermark';

/** Secrets that exist in the cluster outside the chart, which values files point at. */
export const EXISTING_SECRETS: Record<string, Record<string, string>> = {
  'shared-redis': { url: 'redis://:shared-pass@redis.shared.svc:6379/0' },
  'shared-s3': { 'access-key': 'GOOG1EXAMPLE', 'secret-key': 'example-secret' },
  // What the RabbitMQ Cluster Operator writes for a RabbitmqCluster (internal/resource/default_user_secret.go).
  [`${RELEASE}-nws-watermark-rabbitmq-default-user`]: {
    username: 'default_user_Wv3x_Jq2nL8kPz1TgH4aRb9c',
    password: 'qX7-fT2mZk9_LpR4wY6sBn1VdH3jCe8u',
    host: `${RELEASE}-nws-watermark-rabbitmq.${NAMESPACE}.svc.cluster.local`,
    port: '5672',
  },
};

/** The operator's RabbitmqCluster CRD, reduced to the fields the chart renders (see the fixture's $comment). */
export function rabbitmqClusterValidator() {
  const schema = JSON.parse(readFileSync(join(REPO, 'tests/chart/fixtures/rabbitmqcluster-v1beta1.schema.json'), 'utf8')) as object;
  return new Ajv({ strict: false, allErrors: true }).compile(schema);
}

export function valuesFile(name: string): string {
  return join(REPO, 'tests/chart/values', name);
}

export async function render(options: RenderOptions = {}): Promise<K8sObject[]> {
  const args = ['template', RELEASE, CHART, '--namespace', NAMESPACE];
  for (const f of options.valuesFiles ?? []) args.push('--values', f);
  for (const s of options.set ?? []) args.push('--set', s);
  for (const s of options.setJson ?? []) args.push('--set-json', s);
  for (const a of options.apiVersions ?? []) args.push('--api-versions', a);
  const result = await helm(...args);
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

export const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export interface PodTemplate {
  owner: K8sObject;
  labels: Record<string, string>;
  spec: any;
  longRunning: boolean;
}

/** Every pod the chart makes: workload templates, hook Jobs and test Pods. */
export function podTemplates(objects: K8sObject[]): PodTemplate[] {
  const pods: PodTemplate[] = [];
  for (const o of objects) {
    if (['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind)) {
      pods.push({ owner: o, labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec, longRunning: true });
    } else if (o.kind === 'Job') {
      pods.push({ owner: o, labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec, longRunning: false });
    } else if (o.kind === 'Pod') {
      pods.push({ owner: o, labels: o.metadata.labels ?? {}, spec: o.spec, longRunning: false });
    }
  }
  return pods;
}

export interface Container {
  pod: PodTemplate;
  init: boolean;
  c: any;
}

export function containers(objects: K8sObject[]): Container[] {
  return podTemplates(objects).flatMap((pod) => [
    ...((pod.spec.initContainers ?? []) as unknown[]).map((c) => ({ pod, init: true, c })),
    ...((pod.spec.containers ?? []) as unknown[]).map((c) => ({ pod, init: false, c })),
  ]);
}

export function matches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  if (!matches(selector.matchLabels, labels)) return false;
  return (selector.matchExpressions ?? []).every((e) => {
    const value = labels[e.key];
    switch (e.operator) {
      case 'In':
        return value !== undefined && (e.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(e.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${e.operator}`);
    }
  });
}

/** The key → value contents of every rendered Secret, plus secrets that exist outside the chart. */
export function secretValues(objects: K8sObject[], external: Record<string, Record<string, string>> = {}) {
  const secrets = new Map<string, Record<string, string>>(Object.entries(external));
  for (const s of byKind(objects, 'Secret')) {
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(s.data ?? {})) values[k] = Buffer.from(v, 'base64').toString('utf8');
    Object.assign(values, s.stringData ?? {});
    secrets.set(s.metadata.name, values);
  }
  return secrets;
}

/**
 * A container's environment as the kubelet gives it: secretKeyRef resolved from the secrets, fieldRef
 * given a sample value, `$(VAR)` expanded from the variables defined before it.
 */
export function containerEnv(container: any, secrets: Map<string, Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as { name: string; value?: string; valueFrom?: any }[]) {
    if (e.valueFrom?.secretKeyRef) {
      const { name, key } = e.valueFrom.secretKeyRef as { name: string; key: string };
      const value = secrets.get(name)?.[key];
      if (value === undefined) throw new Error(`${container.name}: ${e.name} refers to secret ${name} key ${key}, which does not exist`);
      env[e.name] = value;
    } else if (e.valueFrom?.fieldRef) {
      env[e.name] = `field:${e.valueFrom.fieldRef.fieldPath as string}`;
    } else if (e.valueFrom) {
      throw new Error(`${container.name}: ${e.name} uses an unexpected valueFrom`);
    } else {
      env[e.name] = (e.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
    }
  }
  return env;
}
