/**
 * The QueueScaler spec: the controller's parser and the CRD the chart installs agree on fields,
 * defaults and rules; the shipped examples are valid.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InvalidSpecError, parseSpec, SPEC_DEFAULTS } from '../../../src/controller/queue-scaler.js';

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

  it('prints queue, depth, desired, current and age', () => {
    const columns = Object.fromEntries(version.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => [c.name, c.jsonPath]));
    expect(columns).toMatchObject({
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
      ['conditions', 'currentReplicas', 'desiredReplicas', 'lastScaleTime', 'observedGeneration', 'queueDepth', 'readyMessages', 'unackedMessages'].sort(),
    );
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
