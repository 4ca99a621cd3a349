/**
 * The dashboards and alerts against a real Prometheus (Debian's) scraping the real local stack,
 * the broker's prometheus plugin included. Traffic goes through every path — nominal, cache hit,
 * rejected, fallback (optimizer stopped: 202, jobs, workers pause and nack), scaling (the backlog
 * makes the controller add workers), retry (a worker whose optimizer calls time out on a healthy
 * optimizer), DLQ (a poison message) — then every panel's PromQL and every variable's query must run
 * without error and return series, the rules must evaluate, and every metric name the dashboards and
 * rules use must be exported by a service or by the broker.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createHarness, freePort, upload, type Harness } from '../helpers/harness.js';
import { reservePorts } from '../helpers/ports.js';
import { makeJpeg } from '../helpers/images.js';
import { spawnComponent, waitReady, type ChildComponent } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import {
  exportedNames,
  isExported,
  labelValuesAsQuery,
  loadDashboards,
  loadRules,
  metricNames,
  panelTargets,
  ruleFiles,
  substitute,
  variableQuery,
} from './promql.js';

const MAX_WORKERS = 3;
const RABBIT_PROMETHEUS = '127.0.0.1:15692';
const DETAILED_FAMILIES = ['queue_coarse_metrics', 'queue_consumer_count', 'queue_metrics'];

let h: Harness;
let stack: ChildComponent;
let slowWorker: ChildComponent | undefined;
let prometheus: ChildProcess | undefined;
let prometheusLog = '';
let ports: Record<'api' | 'optimizer' | 'worker' | 'controller' | 'slowWorker' | 'prometheus', number>;
let optimizerPid: number | undefined;
let startedAt: number;
const dir = mkdtempSync(join(tmpdir(), 'nws-observability-'));
const api = () => `http://127.0.0.1:${ports.api}`;
const promUrl = () => `http://127.0.0.1:${ports.prometheus}`;

function childPid(parent: number, component: string): number | undefined {
  try {
    const out = execFileSync('pgrep', ['-P', String(parent), '-f', `nws-watermark.js ${component}`])
      .toString()
      .trim();
    return out ? Number(out.split('\n')[0]) : undefined;
  } catch {
    return undefined;
  }
}

async function metricsText(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.text();
}

/** Sum of the samples of `name` whose label set contains `labels` (e.g. 'direction="up"'). */
function sampleSum(text: string, name: string, labels = ''): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

async function allWorkerMetrics(): Promise<string> {
  const ports_ = [...Array.from({ length: MAX_WORKERS }, (_, i) => ports.worker + i), ports.slowWorker];
  const texts = await Promise.all(ports_.map((p) => metricsText(`http://127.0.0.1:${p}/metrics`).catch(() => '')));
  return texts.join('\n');
}

interface QueryResult {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

/** An instant query, at `time` (Unix seconds) when given, else now. */
async function query(expr: string, time?: number): Promise<QueryResult> {
  const res = await fetch(`${promUrl()}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) }),
  });
  return (await res.json()) as QueryResult;
}

/** Each scrape target's health, for failure messages. */
async function targetHealth(): Promise<string> {
  const res = (await (await fetch(`${promUrl()}/api/v1/targets`)).json()) as {
    data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
  };
  return res.data.activeTargets.map((t) => `  ${t.scrapeUrl} ${t.health} ${t.lastError}`).join('\n');
}

async function startPrometheus(vhost: string): Promise<void> {
  const ourTargets = [ports.api, ports.optimizer, ports.controller, ports.slowWorker, ...Array.from({ length: MAX_WORKERS }, (_, i) => ports.worker + i)];
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles(),
    scrape_configs: [
      { job_name: 'nws-watermark', static_configs: [{ targets: ourTargets.map((p) => `127.0.0.1:${p}`) }] },
      { job_name: 'rabbitmq', static_configs: [{ targets: [RABBIT_PROMETHEUS] }] },
      {
        // What the chart's ServiceMonitor scrapes for per-queue numbers, limited to this test's vhost.
        job_name: 'rabbitmq-detailed',
        metrics_path: '/metrics/detailed',
        params: { vhost: [vhost], family: DETAILED_FAMILIES },
        static_configs: [{ targets: [RABBIT_PROMETHEUS] }],
      },
    ],
  };
  writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${ports.prometheus}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  prometheus.on('error', (err) => {
    prometheusLog += `spawn failed: ${err.message} (install Debian's prometheus package: scripts/install-system-deps.sh)\n`;
  });
  prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
  await waitFor(async () => (await fetch(`${promUrl()}/-/ready`)).ok, { timeoutMs: 30_000, what: `Prometheus to be ready\n${prometheusLog}` });
}

beforeAll(async () => {
  startedAt = Date.now();
  h = await createHarness('observability');
  ports = {
    api: await freePort(),
    optimizer: await freePort(),
    controller: await freePort(),
    slowWorker: await freePort(),
    prometheus: await freePort(),
    // Workers take WORKER_PORT, WORKER_PORT+1, …
    worker: await reservePorts(MAX_WORKERS),
  };

  // Scales up fast: one worker per 4 messages, polled every second.
  const scalerFile = join(dir, 'queuescaler.yaml');
  writeFileSync(
    scalerFile,
    stringify({
      apiVersion: 'watermark.nws.io/v1alpha1',
      kind: 'QueueScaler',
      metadata: { name: 'worker' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'nws-watermark-worker' },
        queue: 'watermark_retry',
        minReplicas: 1,
        maxReplicas: MAX_WORKERS,
        messagesPerReplica: 4,
        activationMessages: 0,
        pollingIntervalSeconds: 1,
        // No scale-down during the test: a worker stopped right after its last job would take
        // its counters with it before Prometheus scraped them twice.
        scaleDownStabilizationSeconds: 600,
        cooldownSeconds: 600,
      },
    }),
  );
  await startPrometheus(decodeURIComponent(new URL(h.rabbitUrl).pathname.slice(1)));

  stack = spawnComponent('stack', {
    RABBITMQ_URL: h.rabbitUrl,
    REDIS_KEY_PREFIX: h.redisPrefix,
    S3_ENDPOINT: h.s3.url,
    LOG_LEVEL: 'warn',
    STACK_DATA_DIR: join(dir, 'data'),
    API_PORT: String(ports.api),
    OPTIMIZER_PORT: String(ports.optimizer),
    WORKER_PORT: String(ports.worker),
    CONTROLLER_PORT: String(ports.controller),
    QUEUE_SCALER_FILE: scalerFile,
    // A stopped optimizer costs 1 s per call until the api's circuit opens.
    OPTIMIZER_TIMEOUT_MS: '1000',
    CIRCUIT_HALF_OPEN_AFTER_MS: '5000',
    OPTIMIZER_PROBE_INTERVAL_MS: '200',
    RETRY_DELAYS_MS: '200,400',
    SHUTDOWN_GRACE_MS: '3000',
  });
  await waitFor(() => stack.output.join('').includes('NWS Watermark is running'), { timeoutMs: 60_000, what: `the stack to start\n${stack.output.join('')}` });
  await waitReady(api());
  await waitReady(`http://127.0.0.1:${ports.worker}`, 30_000);
  optimizerPid = childPid(stack.process.pid!, 'optimizer');
}, 120_000);

afterAll(async () => {
  if (optimizerPid) {
    try {
      process.kill(optimizerPid, 'SIGCONT');
    } catch {
      // already gone
    }
  }
  slowWorker?.kill('SIGTERM');
  stack?.kill('SIGTERM');
  prometheus?.kill('SIGTERM');
  await Promise.all([
    slowWorker?.exited,
    stack?.exited,
    prometheus && new Promise((r) => (prometheus!.exitCode !== null ? r(null) : prometheus!.once('exit', r))),
  ]);
  await h?.cleanup();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('observability against a real Prometheus', () => {
  const queued: string[] = [];

  it('drives every path: nominal, cache hit, rejected, fallback, scaling, retry, DLQ', async () => {
    // Nominal, then cache hits, then a rejected upload.
    for (let i = 0; i < 3; i += 1) {
      const res = await upload(api(), await makeJpeg(7000 + i, 160, 120));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBe('MISS');
    }
    for (let i = 0; i < 2; i += 1) {
      const res = await upload(api(), await makeJpeg(7000 + i, 160, 120));
      expect(res.headers.get('x-cache')).toBe('HIT');
    }
    expect((await upload(api(), Buffer.from('not an image at all'), 'notes.txt', 'text/plain')).status).toBe(415);

    // Fallback: the optimizer stops answering; uploads are accepted with 202 and wait as jobs.
    expect(optimizerPid, 'the stack runs an optimizer process').toBeDefined();
    process.kill(optimizerPid!, 'SIGSTOP');
    for (let i = 0; i < 14; i += 1) {
      const res = await upload(api(), await makeJpeg(8000 + i, 96, 72));
      expect(res.status).toBe(202);
      queued.push(((await res.json()) as { jobId: string }).jobId);
    }
    // A poison message, stamped like the api's jobs: it ends in the DLQ.
    const channel = await h.broker.createConfirmChannel();
    channel.sendToQueue('watermark_retry', Buffer.from('{"not":"a job"'), {
      persistent: true,
      contentType: 'application/json',
      timestamp: Math.floor(Date.now() / 1000),
    });
    await channel.waitForConfirms();
    await channel.close();

    // Scaling: the backlog makes the controller add workers.
    await waitFor(
      async () => sampleSum(await metricsText(`http://127.0.0.1:${ports.controller}/metrics`), 'watermark_scaler_scaling_events_total', 'direction="up"') > 0,
      {
        timeoutMs: 20_000,
        what: 'a scale-up event',
      },
    );

    // Retry: a worker whose optimizer calls always time out while the optimizer is healthy.
    slowWorker = spawnComponent('worker', {
      ...h.env,
      PORT: String(ports.slowWorker),
      OPTIMIZER_URL: `http://127.0.0.1:${ports.optimizer}`,
      OPTIMIZER_TIMEOUT_MS: '1',
      RETRY_DELAYS_MS: '200,400',
      LOG_LEVEL: 'warn',
    });
    await waitReady(`http://127.0.0.1:${ports.slowWorker}`, 20_000);

    process.kill(optimizerPid!, 'SIGCONT');
    await waitFor(async () => sampleSum(await metricsText(`http://127.0.0.1:${ports.slowWorker}/metrics`), 'watermark_jobs_retried_total') > 0, {
      timeoutMs: 30_000,
      what: 'a retried job',
    });
    await waitFor(async () => sampleSum(await allWorkerMetrics(), 'watermark_jobs_dead_lettered_total', 'reason="invalid_message"') > 0, {
      timeoutMs: 30_000,
      what: 'the poison message dead-lettered',
    });
    // Every 202 finishes (done, or failed after its attempts: both are outcomes the client sees).
    await waitFor(
      async () => {
        const states = await Promise.all(queued.map(async (hash) => ((await (await fetch(`${api()}/status/${hash}`)).json()) as { status: string }).status));
        return states.every((s) => s === 'done' || s === 'failed');
      },
      { timeoutMs: 45_000, intervalMs: 500, what: 'every queued job to finish' },
    );
    expect(sampleSum(await allWorkerMetrics(), 'watermark_jobs_acked_total')).toBeGreaterThanOrEqual(queued.length);
  }, 150_000);

  it('every panel and variable query of every dashboard runs and returns series', async () => {
    // Some panels show a moment, not a window: "Oldest waiting job" exists only while a message
    // waits. The poison message of the first test waits in the DLQ, which nothing consumes. Every
    // query is evaluated at one instant at which Prometheus holds that message, the retries and
    // dead letters scraped three times, and a good last scrape of the broker (a failed scrape
    // would mark its series stale at that instant).
    const settled = [
      'max(count_over_time(watermark_jobs_dead_lettered_total[1m])) >= 3',
      'max(count_over_time(watermark_jobs_retried_total[1m])) >= 3',
      'max(rabbitmq_detailed_queue_head_message_timestamp{queue="watermark_retry.dlq"}) > 0',
      'min(up{job=~"rabbitmq.*"}) == 1',
    ].join(' and on() ');
    const at = await waitFor(
      async () => {
        const r = await query(settled);
        return r.data?.result.length === 1 ? r.data.result[0]!.value[0] : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'Prometheus to scrape the retries, the dead letters and the waiting message' },
    ).catch(async (err: unknown) => {
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}\n${await targetHealth()}\nworkers:\n${await allWorkerMetrics().then((t) =>
          t
            .split('\n')
            .filter((l) => /^watermark_jobs_(dead|retried)/.test(l))
            .join('\n'),
        )}`,
      );
    });
    // Windows covering the whole traffic, so rates and quantiles have data.
    const window = `${Math.ceil(at - startedAt / 1000) + 15}s`;

    const dashboards = loadDashboards();
    const queries = [
      ...panelTargets(dashboards).map((t) => ({ where: `${t.dashboard} "${t.panel}" ${t.refId}`, expr: t.expr })),
      ...dashboards.flatMap((d) =>
        d.json.templating.list.flatMap((v) => {
          const q = variableQuery(v);
          return q ? [{ where: `${d.file} variable $${v.name}`, expr: labelValuesAsQuery(q) }] : [];
        }),
      ),
    ];
    const failures: string[] = [];
    for (const { where, expr } of queries) {
      const concrete = substitute(expr, { rateInterval: window, range: window });
      const result = await query(concrete, at);
      if (result.status !== 'success') failures.push(`${where}: error ${result.error}\n    ${concrete}`);
      else if ((result.data?.result.length ?? 0) === 0) failures.push(`${where}: no series\n    ${concrete}`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
  }, 60_000);

  it('labels stay bounded: route templates, never raw paths or hashes', async () => {
    const routes = await query('count by (route) (watermark_http_request_duration_seconds_count)');
    const names = routes.data!.result.map((r) => r.metric.route);
    expect(names).toEqual(expect.arrayContaining(['/upload', '/status/:id', '/optimize', '/metrics']));
    const series = await query('{__name__=~"watermark_.+"}');
    const values = series.data!.result.flatMap((r) => Object.entries(r.metric).filter(([k]) => k !== '__name__' && k !== 'instance'));
    expect(values.length).toBeGreaterThan(0);
    expect(values.filter(([, v]) => /[0-9a-f]{16,}/.test(v) || (v.startsWith('/') && !/^\/[a-z/:]*$/.test(v)))).toEqual([]);
  });

  it('the alert rules evaluate on real data, and the DLQ alert fires', async () => {
    await waitFor(
      async () => {
        const res = (await (await fetch(`${promUrl()}/api/v1/rules`)).json()) as {
          data: { groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] };
        };
        const rules = res.data.groups.flatMap((g) => g.rules);
        expect(rules.map((r) => r.name).sort()).toEqual(
          loadRules()
            .map((r) => r.alert)
            .sort(),
        );
        const bad = rules.filter((r) => r.health !== 'ok');
        expect(bad.map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 500, what: 'every rule evaluated without error' },
    );
    for (const rule of loadRules()) {
      const result = await query(rule.expr);
      expect(result.status, `${rule.alert}: ${result.error}`).toBe('success');
    }
    await waitFor(
      async () => {
        const res = (await (await fetch(`${promUrl()}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
        return res.data.alerts.some(
          (a) => a.labels.alertname === 'WatermarkDeadLetterQueueReceiving' && a.labels.reason === 'invalid_message' && a.state === 'firing',
        );
      },
      { timeoutMs: 10_000, intervalMs: 500, what: 'WatermarkDeadLetterQueueReceiving to fire' },
    );
  });

  it('dashboards and rules name only metrics that a service or the broker exports', async () => {
    const pages = await Promise.all([
      metricsText(`${api()}/metrics`),
      metricsText(`http://127.0.0.1:${ports.optimizer}/metrics`),
      metricsText(`http://127.0.0.1:${ports.controller}/metrics`),
      allWorkerMetrics(),
      metricsText(`http://${RABBIT_PROMETHEUS}/metrics`),
      metricsText(
        `http://${RABBIT_PROMETHEUS}/metrics/detailed?${new URLSearchParams([['vhost', decodeURIComponent(new URL(h.rabbitUrl).pathname.slice(1))], ...DETAILED_FAMILIES.map((f) => ['family', f])])}`,
      ),
    ]);
    const exported = exportedNames(pages.join('\n'));
    const dashboards = loadDashboards();
    const used = [
      ...panelTargets(dashboards).map((t) => ({ where: `${t.dashboard} "${t.panel}"`, expr: t.expr })),
      ...dashboards.flatMap((d) =>
        d.json.templating.list.flatMap((v) => (variableQuery(v) ? [{ where: `${d.file} $${v.name}`, expr: labelValuesAsQuery(variableQuery(v)!) }] : [])),
      ),
      ...loadRules().map((r) => ({ where: `rule ${r.alert}`, expr: r.expr })),
    ];
    const missing = used.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !isExported(n, exported))
        .map((n) => `${where}: ${n}`),
    );
    expect(missing).toEqual([]);
  });
});
