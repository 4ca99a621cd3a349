/**
 * The backing services in each of their modes: RabbitMQ builtin, from the RabbitMQ Cluster Operator or
 * external, with quorum queues wherever the broker has more than one node. The schema, security,
 * label, network and environment checks of every mode run in chart.test.ts (each values file of
 * tests/chart/values is a scenario there); this file checks what each mode renders.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART, helm } from './helm.js';
import {
  EXISTING_SECRETS,
  NAMESPACE,
  RELEASE,
  byKind,
  containerEnv,
  find,
  rabbitmqClusterValidator,
  render,
  secretValues,
  valuesFile,
  type K8sObject,
} from './manifests.js';

const FULL = `${RELEASE}-nws-watermark`;
const BROKER_CLIENTS = ['api', 'worker', 'controller'];

function envOf(objects: K8sObject[], component: string): Record<string, string> {
  const deployment = find(objects, 'Deployment', `${FULL}-${component}`);
  return containerEnv(deployment.spec.template.spec.containers[0], secretValues(objects, EXISTING_SECRETS));
}

describe('RabbitMQ, mode operator', () => {
  let objects: K8sObject[];
  let cluster: K8sObject;
  beforeAll(async () => {
    objects = await render({ valuesFiles: [valuesFile('rabbitmq-operator.yaml')] });
    cluster = find(objects, 'RabbitmqCluster', `${FULL}-rabbitmq`);
  });

  it("renders a RabbitmqCluster whose every key is a field of the operator's CRD", () => {
    const validate = rabbitmqClusterValidator();
    expect(validate(cluster), JSON.stringify(validate.errors)).toBe(true);
    expect(cluster.spec).toMatchObject({
      replicas: 3,
      image: expect.stringMatching(/^rabbitmq:4\.\d+\.\d+-management$/),
      persistence: { storage: '20Gi', storageClassName: 'fast-ssd' },
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
      imagePullSecrets: [{ name: 'registry-credentials' }],
      tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'messaging', effect: 'NoSchedule' }],
    });
    // What the services need is listed even though the operator enables it anyway; then the extras.
    expect(cluster.spec.rabbitmq.additionalPlugins).toEqual(['rabbitmq_management', 'rabbitmq_prometheus', 'rabbitmq_shovel', 'rabbitmq_shovel_management']);
    const config = cluster.spec.rabbitmq.additionalConfig as string;
    // Boot-time definitions would make the node skip seeding the operator's default user.
    expect(config).not.toMatch(/load_definitions/);
    expect(config).toMatch(/^default_vhost = watermark$/m);
    expect(config).toMatch(/^default_queue_type = quorum$/m);
    expect(config).toMatch(/^consumer_timeout = 3600000$/m);
  });

  it('lists management and prometheus once, with the defaults or when an extra repeats one', async () => {
    const plain = find(await render({ set: ['rabbitmq.mode=operator'] }), 'RabbitmqCluster', `${FULL}-rabbitmq`);
    expect(plain.spec.rabbitmq.additionalPlugins).toEqual(['rabbitmq_management', 'rabbitmq_prometheus']);
    const repeated = find(
      await render({ set: ['rabbitmq.mode=operator', 'rabbitmq.operator.additionalPlugins={rabbitmq_prometheus,rabbitmq_federation}'] }),
      'RabbitmqCluster',
      `${FULL}-rabbitmq`,
    );
    expect(repeated.spec.rabbitmq.additionalPlugins).toEqual(['rabbitmq_management', 'rabbitmq_prometheus', 'rabbitmq_federation']);
    expect(rabbitmqClusterValidator()(repeated)).toBe(true);
  });

  it('the CRD subset rejects a misspelled key, a wrong type and an over-long config', () => {
    const validate = rabbitmqClusterValidator();
    const broken: [string, (spec: any) => void][] = [
      ['persistence.storageClass (the CRD says storageClassName)', (s) => (s.persistence.storageClass = 'x')],
      ['rabbitmq.plugins', (s) => (s.rabbitmq.plugins = ['rabbitmq_shovel'])],
      ['an unknown top-level key', (s) => (s.volumes = [])],
      ['replicas as text', (s) => (s.replicas = 'three')],
      ['a plugin name with a dash', (s) => (s.rabbitmq.additionalPlugins = ['rabbitmq-shovel'])],
      ['additionalConfig past 2000 characters', (s) => (s.rabbitmq.additionalConfig = 'x'.repeat(2001))],
      ['a bad storage quantity', (s) => (s.persistence.storage = '20 GB')],
    ];
    for (const [what, breakIt] of broken) {
      const bad = structuredClone(cluster);
      breakIt(bad.spec);
      expect(validate(bad), what).toBe(false);
    }
  });

  it("takes the services' credentials, host and port from the operator's default-user Secret", () => {
    for (const c of BROKER_CLIENTS) {
      const deployment = find(objects, 'Deployment', `${FULL}-${c}`);
      const refs = (deployment.spec.template.spec.containers[0].env as { name: string; valueFrom?: any }[])
        .filter((e) => e.name.startsWith('RABBITMQ_') && e.valueFrom)
        .map((e) => `${e.name}=${e.valueFrom.secretKeyRef.name as string}/${e.valueFrom.secretKeyRef.key as string}`);
      expect(refs, c).toEqual(['USERNAME', 'PASSWORD', 'HOST', 'PORT'].map((k) => `RABBITMQ_${k}=${FULL}-rabbitmq-default-user/${k.toLowerCase()}`));
      const env = envOf(objects, c);
      const user = EXISTING_SECRETS[`${FULL}-rabbitmq-default-user`];
      expect(env.RABBITMQ_URL, c).toBe(`amqp://${user?.username}:${user?.password}@${FULL}-rabbitmq.${NAMESPACE}.svc.cluster.local:5672/watermark`);
      expect(env.RABBITMQ_QUEUE_TYPE, c).toBe('quorum');
    }
    expect(envOf(objects, 'controller').RABBITMQ_MANAGEMENT_URL).toMatch(
      new RegExp(`^http://[^:]+:[^@]+@${FULL}-rabbitmq\\.${NAMESPACE}\\.svc\\.cluster\\.local:15672$`),
    );
  });

  it("renders none of the builtin broker's objects: the operator makes its pods, Services and Secrets", () => {
    const ours = objects.filter((o) => o.metadata.labels?.['app.kubernetes.io/component'] === 'rabbitmq');
    expect(ours.map((o) => o.kind)).toEqual(['RabbitmqCluster']);
    expect(byKind(objects, 'Secret').map((s) => s.metadata.name)).not.toContain(`${FULL}-rabbitmq`);
  });

  it('refuses what the operator cannot do: no persistence, or too much configuration', async () => {
    const noPvc = await helm('template', RELEASE, CHART, '--set', 'rabbitmq.mode=operator', '--set', 'rabbitmq.persistence.enabled=false');
    expect(noPvc.code).not.toBe(0);
    expect(noPvc.stderr).toContain('rabbitmq.mode=operator keeps each node');
    // Within the schema's 2000 for the user's part, past the CRD's 2000 with the chart's own lines.
    const long = await helm(
      'template',
      RELEASE,
      CHART,
      '--set',
      'rabbitmq.mode=operator',
      '--set',
      `rabbitmq.operator.additionalConfig=consumer_timeout = ${'9'.repeat(1960)}`,
    );
    expect(long.code).not.toBe(0);
    expect(long.stderr).toMatch(/may hold 2000 characters, this one has \d+/);
  });

  it('a single-node RabbitmqCluster uses classic queues', async () => {
    const single = await render({ set: ['rabbitmq.mode=operator'] });
    expect(find(single, 'RabbitmqCluster', `${FULL}-rabbitmq`).spec.replicas).toBe(1);
    expect(find(single, 'RabbitmqCluster', `${FULL}-rabbitmq`).spec.rabbitmq.additionalConfig).not.toContain('default_queue_type');
    expect(envOf(single, 'worker').RABBITMQ_QUEUE_TYPE).toBe('classic');
  });
});

describe('RabbitMQ queue type and delivery limit', () => {
  it.each([
    ['builtin, one node', [], 'classic'],
    ['builtin, three nodes', ['rabbitmq.replicas=3'], 'quorum'],
    ['operator, three nodes', ['rabbitmq.mode=operator', 'rabbitmq.replicas=3'], 'quorum'],
    [
      'external, auto',
      ['rabbitmq.mode=external', 'rabbitmq.external.url=amqp://u:p@b:5672/v', 'rabbitmq.external.managementUrl=http://u:p@b:15672'],
      'classic',
    ],
    [
      'external, quorum',
      [
        'rabbitmq.mode=external',
        'rabbitmq.queueType=quorum',
        'rabbitmq.external.url=amqp://u:p@b:5672/v',
        'rabbitmq.external.managementUrl=http://u:p@b:15672',
      ],
      'quorum',
    ],
  ] as const)('%s: %s queues, with the delivery limit set explicitly', async (_what, set, queueType) => {
    const objects = await render({ set: [...set] });
    for (const c of ['api', 'worker']) {
      const env = envOf(objects, c);
      expect(env.RABBITMQ_QUEUE_TYPE, c).toBe(queueType);
      expect(env.RABBITMQ_DELIVERY_LIMIT, c).toBe('20');
    }
  });

  it('the external mode by rabbitmq.mode reads the same Secret as the older rabbitmq.enabled=false', async () => {
    const objects = await render({ valuesFiles: [valuesFile('rabbitmq-external.yaml')] });
    expect(byKind(objects, 'StatefulSet').map((s) => s.metadata.name)).not.toContain(`${FULL}-rabbitmq`);
    expect(byKind(objects, 'RabbitmqCluster')).toEqual([]);
    const env = envOf(objects, 'worker');
    expect(env.RABBITMQ_URL).toBe('amqp://nws:s3cret@rabbitmq.shared.svc:5672/watermark');
    expect(env.RABBITMQ_QUEUE_TYPE).toBe('quorum');
    expect(env.RABBITMQ_DELIVERY_LIMIT).toBe('10');
    expect(envOf(objects, 'controller').RABBITMQ_MANAGEMENT_URL).toBe('http://nws:s3cret@rabbitmq.shared.svc:15672');
  });

  it('the values schema knows the modes and nothing else', async () => {
    for (const set of [
      'rabbitmq.mode=cluster',
      'rabbitmq.queueType=stream',
      'rabbitmq.deliveryLimit=0',
      'rabbitmq.operator.additionalPlugins[0]=rabbitmq-shovel',
    ]) {
      const result = await helm('template', RELEASE, CHART, '--set', set);
      expect(result.code, set).not.toBe(0);
      expect(result.stderr, set).toMatch(/schema/);
    }
  });
});

/** Every claim the chart makes: PVCs and StatefulSet claim templates, with what owns them. */
function claims(objects: K8sObject[]): { owner: string; storageClassName?: string }[] {
  return [
    ...byKind(objects, 'PersistentVolumeClaim').map((c) => ({ owner: c.metadata.name, storageClassName: c.spec.storageClassName as string | undefined })),
    ...byKind(objects, 'StatefulSet').flatMap((s) =>
      ((s.spec.volumeClaimTemplates ?? []) as { spec: { storageClassName?: string } }[]).map((t) => ({
        owner: s.metadata.name,
        storageClassName: t.spec.storageClassName,
      })),
    ),
    ...byKind(objects, 'RabbitmqCluster').map((r) => ({
      owner: r.metadata.name,
      storageClassName: r.spec.persistence?.storageClassName as string | undefined,
    })),
  ];
}

async function notes(...args: string[]): Promise<string> {
  const result = await helm('install', RELEASE, CHART, '--dry-run=client', '--namespace', NAMESPACE, ...args);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.slice(result.stdout.indexOf('NOTES:'));
}

describe('persistence', () => {
  it('every backing service has persistence.enabled, storageClass and size, and passes the class to its claims', async () => {
    const set = ['rabbitmq', 'redis', 'minio'].flatMap((s) => [
      `${s}.persistence.enabled=true`,
      `${s}.persistence.storageClass=gold`,
      `${s}.persistence.size=3Gi`,
    ]);
    const objects = await render({ set });
    const made = claims(objects);
    expect(made.map((c) => c.owner).sort()).toEqual([`${FULL}-minio`, `${FULL}-rabbitmq`, `${FULL}-redis`]);
    for (const c of made) expect(c.storageClassName, c.owner).toBe('gold');
    const operator = await render({ set: ['rabbitmq.mode=operator', 'rabbitmq.persistence.storageClass=gold'] });
    expect(claims(operator).find((c) => c.owner === `${FULL}-rabbitmq`)?.storageClassName).toBe('gold');
  });

  it('values-kind.yaml names kind\'s "standard" StorageClass on every claim and keeps resources small', async () => {
    const objects = await render({ valuesFiles: [`${CHART}/values-kind.yaml`] });
    const made = claims(objects);
    expect(made.length).toBe(3);
    for (const c of made) expect(c.storageClassName, c.owner).toBe('standard');
    expect(find(objects, 'Service', `${FULL}-api`).spec).toMatchObject({ type: 'NodePort', ports: [{ nodePort: 30080 }] });
    for (const d of byKind(objects, 'Deployment')) expect(d.spec.replicas ?? 1, d.metadata.name).toBe(1);
  });

  it.each(['minio', 'seaweedfs'])('values-dev.yaml makes no claim at all: emptyDir volumes, one replica each (%s)', async (engine) => {
    const objects = await render({ valuesFiles: [`${CHART}/values-dev.yaml`], set: [`objectStore.engine=${engine}`] });
    expect(claims(objects)).toEqual([]);
    for (const s of [...byKind(objects, 'StatefulSet'), ...byKind(objects, 'Deployment')]) {
      expect(s.spec.replicas ?? 1, s.metadata.name).toBe(1);
      const data = ((s.spec.template.spec.volumes ?? []) as { name: string; emptyDir?: object; persistentVolumeClaim?: object }[]).find(
        (v) => v.name === 'data',
      );
      if (data) expect(data.emptyDir, `${s.metadata.name}: data is an emptyDir`).toBeDefined();
    }
  });

  it('NOTES warn when persistence is on without a StorageClass, and say what to do', async () => {
    const text = await notes();
    expect(text).toContain('WARNING: persistence is on and no StorageClass is set for: rabbitmq, redis, minio.');
    expect(text).toContain("the cluster's default StorageClass. On a cluster without one");
    expect(text).toContain('claims stay Pending');
    expect(text).toContain('values-dev.yaml');
    expect(await notes('--set', 'redis.persistence.storageClass=gold', '--set', 'minio.persistence.enabled=false')).toContain(
      'no StorageClass is set for: rabbitmq.',
    );
    for (const file of ['values-kind.yaml', 'values-dev.yaml']) {
      for (const engine of ['minio', 'seaweedfs']) {
        const text = await notes('-f', `${CHART}/${file}`, '--set', `objectStore.engine=${engine}`);
        expect(text, `${file} with ${engine}`).not.toContain('WARNING: persistence');
      }
    }
  });
});

describe('object store engines', () => {
  it('seaweedfs: one weed server with its S3 gateway on 8333, configured by the -s3.config identities of its Secret', async () => {
    const objects = await render({ valuesFiles: [valuesFile('seaweedfs.yaml')] });
    expect(objects.filter((o) => o.metadata.name.includes('minio'))).toEqual([]);
    const sts = find(objects, 'StatefulSet', `${FULL}-seaweedfs`);
    const [c] = sts.spec.template.spec.containers;
    expect(c.image).toMatch(/^chrislusf\/seaweedfs:\d+\.\d+$/);
    expect(c.command).toEqual(['/usr/bin/weed']);
    expect(c.args).toEqual(expect.arrayContaining(['server', '-dir=/data', '-s3', '-s3.port=8333', '-s3.config=/etc/seaweedfs/s3/config.json', '-filer']));
    expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 's3' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/cluster/status', port: 'master' });
    expect(sts.spec.volumeClaimTemplates[0].spec).toMatchObject({ storageClassName: 'fast-ssd', resources: { requests: { storage: '20Gi' } } });
    expect(find(objects, 'Service', `${FULL}-seaweedfs`).spec.ports).toEqual([{ name: 's3', port: 8333, targetPort: 's3' }]);

    // The services and the bucket hook log in with the identity the server is configured with.
    const secrets = secretValues(objects);
    const stored = secrets.get(`${FULL}-seaweedfs`) ?? {};
    const config = JSON.parse(stored['config.json'] ?? '{}') as {
      identities: { credentials: { accessKey: string; secretKey: string }[]; actions: string[] }[];
    };
    expect(config.identities).toHaveLength(1);
    expect(config.identities[0]?.credentials).toEqual([{ accessKey: stored['access-key'], secretKey: stored['secret-key'] }]);
    expect(config.identities[0]?.actions).toEqual(expect.arrayContaining(['Admin', 'Read', 'Write', 'List']));
    expect(stored['secret-key']?.length).toBeGreaterThanOrEqual(32);
    for (const component of ['api', 'worker']) {
      const env = envOf(objects, component);
      expect(env.S3_ENDPOINT, component).toBe(`http://${FULL}-seaweedfs:8333`);
      expect([env.S3_ACCESS_KEY, env.S3_SECRET_KEY], component).toEqual([stored['access-key'], stored['secret-key']]);
    }
    const hook = find(objects, 'Job', `${FULL}-seaweedfs-bucket`).spec.template.spec.containers[0];
    const hookEnv = Object.fromEntries((hook.env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
    expect(hookEnv.STORE_NAME).toBe('SeaweedFS');
    expect(hookEnv.STORE_SELECTOR).toContain('app.kubernetes.io/component=seaweedfs');
    expect(hookEnv.S3_ENDPOINT).toBe(`http://${FULL}-seaweedfs:8333`);
  });

  it('seaweedfs: only the api, the workers and the bucket hook reach it, on the S3 port alone', async () => {
    const objects = await render({ valuesFiles: [valuesFile('seaweedfs.yaml')] });
    const policy = find(objects, 'NetworkPolicy', `${FULL}-seaweedfs`);
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].ports).toEqual([{ port: 's3', protocol: 'TCP' }]);
    const components = (policy.spec.ingress[0].from as { podSelector: { matchLabels: Record<string, string> } }[]).map(
      (p) => p.podSelector.matchLabels['app.kubernetes.io/component'],
    );
    expect(components.sort()).toEqual(['api', 'bucket-hook', 'worker']);
  });

  it('seaweedfs: without persistence its data is an emptyDir, and NOTES name it when it has no StorageClass', async () => {
    const objects = await render({ set: ['objectStore.engine=seaweedfs', 'seaweedfs.persistence.enabled=false'] });
    const sts = find(objects, 'StatefulSet', `${FULL}-seaweedfs`);
    expect(sts.spec.volumeClaimTemplates).toBeUndefined();
    expect((sts.spec.template.spec.volumes as { name: string; emptyDir?: object }[]).find((v) => v.name === 'data')?.emptyDir).toEqual({});
    expect(await notes('--set', 'objectStore.engine=seaweedfs')).toContain('no StorageClass is set for: rabbitmq, redis, seaweedfs.');
  });

  it('minio stays the default, pinned to a RELEASE tag, and external points at any S3 with keys from a Secret', async () => {
    const objects = await render();
    expect(find(objects, 'Deployment', `${FULL}-minio`).spec.template.spec.containers[0].image).toMatch(
      /^quay\.io\/minio\/minio:RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/,
    );
    expect(envOf(objects, 'api').S3_ENDPOINT).toBe(`http://${FULL}-minio:9000`);
    const external = await render({ valuesFiles: [valuesFile('object-store-external.yaml')] });
    expect(external.filter((o) => /minio|seaweedfs/.test(o.metadata.name))).toEqual([]);
    const env = envOf(external, 'worker');
    expect([env.S3_ENDPOINT, env.S3_BUCKET, env.S3_ACCESS_KEY]).toEqual(['https://storage.googleapis.com', 'nws-watermark-staging', 'GOOG1EXAMPLE']);
  });

  it('the values schema knows the engines and nothing else', async () => {
    for (const set of ['objectStore.engine=ceph', 'seaweedfs.image.tag=latest', 'seaweedfs.bogus=1']) {
      const result = await helm('template', RELEASE, CHART, '--set', set);
      expect(result.code, set).not.toBe(0);
      expect(result.stderr, set).toMatch(/schema/);
    }
  });
});

describe('Redis or Valkey', () => {
  it("runs Valkey's own server and client when redis.image is Valkey's, with the same password and persistence", async () => {
    const objects = await render({ valuesFiles: [valuesFile('valkey.yaml')] });
    const [c] = find(objects, 'StatefulSet', `${FULL}-redis`).spec.template.spec.containers;
    expect(c.image).toBe('valkey/valkey:8.1.4');
    expect(c.command).toEqual(['valkey-server']);
    expect(c.args).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--requirepass', '$(REDIS_PASSWORD)']));
    expect(c.readinessProbe.exec.command[2]).toBe('valkey-cli ping | grep -q PONG');
    const authFrom = (c.env as { name: string; valueFrom?: any }[]).filter((e) => e.name.endsWith('CLI_AUTH')).map((e) => e.name);
    expect(authFrom.sort()).toEqual(['REDISCLI_AUTH', 'VALKEYCLI_AUTH']);
    expect(envOf(objects, 'api').REDIS_URL).toMatch(new RegExp(`^redis://:[A-Za-z0-9]{32}@${FULL}-redis:6379/0$`));
  });

  it('runs redis-server and redis-cli by default', async () => {
    const [c] = find(await render(), 'StatefulSet', `${FULL}-redis`).spec.template.spec.containers;
    expect(c.image).toMatch(/^redis:\d+\.\d+\.\d+/);
    expect(c.command).toEqual(['redis-server']);
    expect(c.readinessProbe.exec.command[2]).toBe('redis-cli ping | grep -q PONG');
  });
});
