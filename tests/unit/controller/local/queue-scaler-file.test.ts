/**
 * The local QueueScaler file is parsed once, where it is read: a Scaler with the broker's vhost
 * when the spec names none, an InvalidSpec naming each bad field, a ConfigError for a file that is
 * no QueueScaler at all.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readQueueScalerFile, requireValid } from '../../../../src/controller/local/queue-scaler-file.js';
import { isInvalidSpec } from '../../../../src/controller/queue-scaler.js';
import { ConfigError } from '../../../../src/shared/config.js';

const dir = mkdtempSync(join(tmpdir(), 'nws-scaler-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const header = 'apiVersion: watermark.nws.io/v1alpha1\nkind: QueueScaler\nmetadata: {name: local}\n';

describe('readQueueScalerFile', () => {
  it('gives the parsed spec, with the broker vhost when the spec names none', () => {
    const path = file('ok.yaml', `${header}spec: {scaleTargetRef: {name: w}, queue: jobs, maxReplicas: 3}\n`);
    const scaler = requireValid(path, readQueueScalerFile(path, { vhost: 'team' }));
    expect(scaler.metadata.name).toBe('local');
    expect(scaler.spec).toMatchObject({ queue: 'jobs', vhost: 'team', maxReplicas: 3, minReplicas: 0 });
    expect(scaler).not.toHaveProperty('status');
  });

  it('keeps a vhost the spec names', () => {
    const path = file('vhost.yaml', `${header}spec: {scaleTargetRef: {name: w}, queue: jobs, vhost: own}\n`);
    expect(requireValid(path, readQueueScalerFile(path, { vhost: 'team' })).spec.vhost).toBe('own');
  });

  it('returns an InvalidSpec naming the bad field, which requireValid turns into a ConfigError naming the file', () => {
    const path = file('bad.yaml', `${header}spec: {scaleTargetRef: {name: w}, queue: jobs, messagesPerReplica: 0}\n`);
    const parsed = readQueueScalerFile(path);
    expect(isInvalidSpec(parsed)).toBe(true);
    if (!isInvalidSpec(parsed)) return;
    expect(parsed.problems).toEqual([expect.stringMatching(/^spec\.messagesPerReplica: .*received 0/)]);
    expect(parsed.message).toMatch(/^invalid QueueScaler spec: spec\.messagesPerReplica/);
    expect(() => requireValid(path, parsed)).toThrow(ConfigError);
    expect(() => requireValid(path, parsed)).toThrow(`QUEUE_SCALER_FILE: ${path}: spec.messagesPerReplica`);
  });

  it('refuses a file that is no QueueScaler, or no YAML', () => {
    expect(() => readQueueScalerFile(file('kind.yaml', 'kind: Deployment\nmetadata: {name: x}\n'))).toThrow(/expected a QueueScaler document/);
    expect(() => readQueueScalerFile(file('yaml.yaml', 'spec: [\n'))).toThrow(ConfigError);
    expect(() => readQueueScalerFile(join(dir, 'missing.yaml'))).toThrow(/QUEUE_SCALER_FILE: .*missing\.yaml/);
  });
});
