/**
 * The dev loop and cluster files agree with the chart: skaffold injects the image through values the
 * chart has and forwards ports of Services it renders; the kind profile's node port is the one kind
 * maps; the chaos test skips, saying why, when no cluster is reachable.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { CHART, REPO, helm } from './helm.js';

const run = promisify(execFile);
const skaffold = parse(readFileSync(join(REPO, 'skaffold.yaml'), 'utf8'));
const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8'));
const kind = parse(readFileSync(join(REPO, 'k8s/kind-config.yaml'), 'utf8'));
const has = (obj: unknown, path: string) =>
  path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' && k in o ? (o as Record<string, unknown>)[k] : undefined), obj) !== undefined;

describe('skaffold.yaml', () => {
  const release = skaffold.deploy.helm.releases[0];

  it('uses the v4 schema, builds the Dockerfile and deploys the chart', () => {
    expect(skaffold.apiVersion).toMatch(/^skaffold\/v4beta\d+$/);
    expect(skaffold.build.artifacts).toEqual([{ image: values.image.repository, docker: { dockerfile: 'Dockerfile' } }]);
    expect(release.chartPath).toBe('charts/nws-watermark');
  });

  it('injects the built image through setValueTemplates into values the chart has', () => {
    expect(release.setValueTemplates['image.repository']).toBe('{{.IMAGE_REPO_nws_watermark}}');
    expect(release.setValueTemplates['image.tag']).toBe('{{.IMAGE_TAG_nws_watermark}}');
    for (const key of Object.keys(release.setValueTemplates)) expect(has(values, key), key).toBe(true);
  });

  it('port-forwards the api (3000) and RabbitMQ management (15672) of Services the chart renders', async () => {
    const rendered = await helm('template', release.name, CHART, '--namespace', release.namespace);
    expect(rendered.code, rendered.stderr).toBe(0);
    const forwards = skaffold.portForward as { resourceName: string; port: number; localPort: number; namespace: string }[];
    expect(forwards.map((f) => f.localPort)).toEqual([3000, 15672]);
    const services = parseAllDocuments(rendered.stdout)
      .map((d) => d.toJS() as { kind: string; metadata: { name: string }; spec: { ports: { port: number }[] } } | null)
      .filter((o) => o?.kind === 'Service');
    for (const f of forwards) {
      expect(f.namespace).toBe(release.namespace);
      const service = services.find((s) => s?.metadata.name === f.resourceName);
      expect(
        service?.spec.ports.map((p) => p.port),
        f.resourceName,
      ).toContain(f.port);
    }
  });

  it('has a kind profile whose NodePort is the port kind maps to the host', async () => {
    const profile = (skaffold.profiles as { name: string; patches: { value: Record<string, unknown> }[] }[]).find((p) => p.name === 'kind');
    const set = profile?.patches[0]?.value ?? {};
    expect(set['api.service.type']).toBe('NodePort');
    const mapped = kind.nodes[0].extraPortMappings.map((m: { containerPort: number }) => m.containerPort);
    expect(mapped).toContain(set['api.service.nodePort']);
    const rendered = await helm('template', 'nws-watermark', CHART, ...Object.entries(set).flatMap(([k, v]) => ['--set', `${k}=${String(v)}`]));
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(rendered.stdout).toContain(`nodePort: ${String(set['api.service.nodePort'])}`);
  });
});

describe('the cluster chaos test', () => {
  it('skips with a clear message when no cluster is reachable', async () => {
    const { stdout } = await run(process.execPath, [join(REPO, 'k8s/chaos/optimizer-chaos.mjs')], {
      cwd: REPO,
      env: { ...process.env, KUBECONFIG: '/nonexistent/kubeconfig', PATH: process.env.PATH ?? '' },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^SKIP: no Kubernetes cluster reachable/m);
    expect(stdout).toContain('kind create cluster --config k8s/kind-config.yaml');
  });
});
