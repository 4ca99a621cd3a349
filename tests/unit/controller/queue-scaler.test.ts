/**
 * The QueueScaler spec: the controller's parser and the CRD the chart installs agree on fields,
 * defaults and rules; the shipped examples are valid.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InvalidSpecError, isInvalidSpec, PAUSED_REPLICAS_ANNOTATION, parseScaler, parseSpec, SPEC_DEFAULTS } from '../../../src/controller/queue-scaler.js';

const crd = parse(readFileSync('charts/nws-watermark/crds/queuescaler.yaml', 'utf8'));
const version = crd.spec.versions[0];
const specSchema = version.schema.openAPIV3Schema.properties.spec;

/** Every node of a structural schema has a type (arrays have items, objects properties). */
function assertStructural(node: Record<string, unknown>, path: string): void {
  expect(node.type, `${path} has a type`).toBeTypeOf('string');
  if (node.type === 'object' && node.properties) {
    for (const [key, child] of Object.entries(node.properties as Record<string, Record<string, unknown>>)) assertStructural(child, `${path}.${key}`);
  }
  if (node.type === 'array') assertStructural(node.items as Record<string, unknown>, `${path}[]`);
}

describe('QueueScaler CRD', () => {
  it('is watermark.nws.io/v1alpha1 QueueScaler, namespaced, with a status subresource', () => {
    expect(crd.spec.group).toBe('watermark.nws.io');
    expect(crd.spec.names.kind).toBe('QueueScaler');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(version.name).toBe('v1alpha1');
    expect(version.subresources).toHaveProperty('status');
    assertStructural(version.schema.openAPIV3Schema, 'root');
  });

  it('has the defaults of the controller', () => {
    for (const [field, value] of Object.entries(SPEC_DEFAULTS)) expect(specSchema.properties[field].default, field).toBe(value);
    const parsed = parseSpec({ scaleTargetRef: { name: 'w' }, queue: 'q' });
    expect(parsed).toMatchObject({ ...SPEC_DEFAULTS, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'w' } });
  });

  it('validates min ≤ max and positive targets, as the controller does', () => {
    expect(specSchema['x-kubernetes-validations'][0].rule).toBe('self.minReplicas <= self.maxReplicas');
    expect(specSchema.properties.messagesPerReplica.minimum).toBe(1);
    expect(specSchema.properties.maxReplicas.minimum).toBe(1);
    expect(specSchema.properties.pollingIntervalSeconds.minimum).toBe(1);
    expect(() => parseSpec({ scaleTargetRef: { name: 'w' }, queue: 'q', minReplicas: 5, maxReplicas: 2 })).toThrow(/maxReplicas ≥ minReplicas/);
    expect(() => parseSpec({ scaleTargetRef: { name: 'w' }, queue: 'q', messagesPerReplica: 0 })).toThrow(InvalidSpecError);
    expect(() => parseSpec({ scaleTargetRef: { name: 'w' }, queue: 'q', messagesPerReplica: 0 })).toThrow(/spec\.messagesPerReplica.*received 0/);
  });

  it('prints ready, active, paused, desired and current, then depth and age', () => {
    const printed: { name: string; jsonPath: string; priority?: number }[] = version.additionalPrinterColumns;
    const columns = Object.fromEntries(printed.map((c) => [c.name, c.jsonPath]));
    const wide = printed.filter((c) => !c.priority).map((c) => c.name);
    expect(wide).toEqual(['Queue', 'Ready', 'Active', 'Paused', 'Desired', 'Current', 'Depth', 'Age']);
    expect(columns).toMatchObject({
      Ready: '.status.conditions[?(@.type=="Ready")].status',
      Active: '.status.conditions[?(@.type=="Active")].status',
      Paused: '.status.conditions[?(@.type=="Paused")].status',
      Retrying: '.status.retryingMessages',
      Queue: '.spec.queue',
      Depth: '.status.queueDepth',
      Desired: '.status.desiredReplicas',
      Current: '.status.currentReplicas',
      Age: '.metadata.creationTimestamp',
    });
  });

  it('declares every status field the controller writes', () => {
    const status = Object.keys(version.schema.openAPIV3Schema.properties.status.properties).sort();
    expect(status).toEqual(
      [
        'conditions',
        'currentReplicas',
        'desiredReplicas',
        'lastScaleTime',
        'observedGeneration',
        'queueDepth',
        'readyMessages',
        'retryingMessages',
        'unackedMessages',
      ].sort(),
    );
    const types = version.schema.openAPIV3Schema.properties.status.properties.conditions.items.properties.type.enum;
    expect(types).toEqual(['Ready', 'Active', 'Paused', 'Fallback', 'ScalingLimited']);
  });

  it('checks fallback and behavior as the controller does', () => {
    const { fallback, behavior } = specSchema.properties;
    expect(fallback.required).toEqual(['failureThreshold', 'replicas']);
    expect(fallback.properties.failureThreshold.minimum).toBe(1);
    expect(fallback.properties.replicas.minimum).toBe(0);
    const down = behavior.properties.scaleDown.properties;
    expect(down.selectPolicy).toMatchObject({ enum: ['Max', 'Min', 'Disabled'], default: 'Max' });
    expect(down.policies.items.properties.periodSeconds).toMatchObject({ minimum: 1, maximum: 1800 });
    expect(down.policies.items['x-kubernetes-validations'][0].rule).toBe("self.type != 'Percent' || self.value <= 100");
    const spec = (extra: Record<string, unknown>) => ({ scaleTargetRef: { name: 'w' }, queue: 'q', ...extra });
    expect(() => parseSpec(spec({ fallback: { failureThreshold: 0, replicas: 2 } }))).toThrow(/spec\.fallback\.failureThreshold.*received 0/);
    expect(() => parseSpec(spec({ fallback: { failureTreshold: 3, replicas: 2 } }))).toThrow(/failureTreshold/);
    const percent = (value: number) => ({ behavior: { scaleDown: { policies: [{ type: 'Percent', value, periodSeconds: 60 }] } } });
    expect(() => parseSpec(spec(percent(150)))).toThrow(/at most 100/);
    expect(parseSpec(spec(percent(50))).behavior?.scaleDown).toEqual({ selectPolicy: 'Max', policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] });
    expect(() => parseSpec(spec({ behavior: { scaleUp: { selectPolicy: 'Fastest' } } }))).toThrow(/selectPolicy/);
  });

  it('reads the paused-replicas annotation, and names it when it is not a replica count', () => {
    const object = (value: string) => ({
      metadata: { name: 'w', annotations: { [PAUSED_REPLICAS_ANNOTATION]: value } },
      spec: { scaleTargetRef: { name: 'w' }, queue: 'q' },
    });
    expect(parseScaler(object('3'))).toMatchObject({ pausedReplicas: 3 });
    expect(parseScaler(object('0'))).toMatchObject({ pausedReplicas: 0 });
    const bad = parseScaler(object('three'));
    expect(isInvalidSpec(bad) && bad.message).toContain(
      `metadata.annotations["${PAUSED_REPLICAS_ANNOTATION}"]: expected a replica count, an integer ≥ 0 (received "three")`,
    );
    expect(parseScaler({ metadata: { name: 'w' }, spec: object('1').spec })).not.toHaveProperty('pausedReplicas');
  });

  it.each(['k8s/examples/queuescaler.yaml', 'config/local-queuescaler.yaml'])('%s is a valid QueueScaler', (file) => {
    const doc = parse(readFileSync(file, 'utf8'));
    expect(doc.apiVersion).toBe('watermark.nws.io/v1alpha1');
    expect(doc.kind).toBe('QueueScaler');
    const known = Object.keys(specSchema.properties);
    for (const key of Object.keys(doc.spec)) expect(known, `${file}: spec.${key}`).toContain(key);
    expect(() => parseSpec(doc.spec)).not.toThrow();
  });
});
