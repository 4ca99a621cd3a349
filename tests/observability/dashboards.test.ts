/**
 * The Grafana dashboards as files: what Grafana's sidecar and a reader need (unique uids, a
 * datasource variable every query uses, namespace and instance variables whose "All" matches the
 * local stack too), the panels the issue asks for, and only metric names our code declares.
 * Whether each query returns data is proved against a real Prometheus in prometheus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import { apiMetrics, createRegistry, httpMetrics, optimizeMetrics, scalerMetrics, workerMetrics } from '../../src/shared/metrics.js';
import {
  allPanels,
  exportedNames,
  isExported,
  labelValuesAsQuery,
  loadDashboards,
  loadRules,
  metricNames,
  panelTargets,
  substitute,
  variableQuery,
} from './promql.js';

const dashboards = loadDashboards();
const targets = panelTargets(dashboards);
const byUid = Object.fromEntries(dashboards.map((d) => [d.json.uid, d.json]));
const exprsOf = (uid: string) =>
  allPanels(byUid[uid]!)
    .flatMap((p) => (p.targets ?? []).map((t) => t.expr))
    .join('\n');

async function declaredByOurCode(): Promise<ReturnType<typeof exportedNames>> {
  const registries: Registry[] = [];
  const make = (service: string, ...factories: ((r: Registry) => unknown)[]) => {
    const registry = createRegistry(service);
    for (const factory of [httpMetrics, ...factories]) factory(registry);
    registries.push(registry);
  };
  make('api', apiMetrics);
  make('optimizer', optimizeMetrics);
  make('worker', workerMetrics);
  make('controller', scalerMetrics);
  return exportedNames((await Promise.all(registries.map((r) => r.metrics()))).join('\n'));
}

describe('PromQL metric-name extraction', () => {
  it('finds metric names and leaves out functions, keywords, labels and durations', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(watermark_http_request_duration_seconds_bucket{route="/upload", status_code=~"5.."}[5m])))',
      ),
    ).toEqual(['watermark_http_request_duration_seconds_bucket']);
    expect(metricNames('time() - max by (queue) (rabbitmq_detailed_queue_head_message_timestamp{queue="a"} > 0)')).toEqual([
      'rabbitmq_detailed_queue_head_message_timestamp',
    ]);
    expect(metricNames('sum(a_total) / ignoring(x) sum without (instance) (b) unless on (namespace) c or vector(0) and bool d offset 5m')).toEqual([
      'a_total',
      'b',
      'c',
      'd',
    ]);
    expect(metricNames('up{job="x"} == 0')).toEqual(['up']);
  });

  it('maps histogram series to their family', async () => {
    const declared = await declaredByOurCode();
    expect(isExported('watermark_job_duration_seconds_bucket', declared)).toBe(true);
    expect(isExported('watermark_jobs_acked_total', declared)).toBe(true);
    expect(isExported('watermark_jobs_acked_total_bucket', declared)).toBe(false);
    expect(isExported('watermark_jobs_ackd_total', declared)).toBe(false);
  });
});

describe('dashboards', () => {
  it('are the overview, queue, autoscaler and RabbitMQ dashboards, each with its own uid', () => {
    expect(dashboards.map((d) => d.json.uid).sort()).toEqual([
      'nws-watermark-autoscaler',
      'nws-watermark-overview',
      'nws-watermark-queue',
      'nws-watermark-rabbitmq',
    ]);
    for (const { json } of dashboards) {
      expect(json.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(json.title).toMatch(/^NWS Watermark \/ /);
    }
  });

  it.each(dashboards.map((d) => [d.file, d.json] as const))(
    '%s: datasource, namespace and instance variables; every query uses the datasource',
    (_file, json) => {
      const vars = Object.fromEntries(json.templating.list.map((v) => [v.name, v]));
      expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
      for (const name of ['namespace', 'instance']) {
        // "All" must match series without the label (the local stack has no namespace): `.*` does.
        expect(vars[name], `variable ${name}`).toMatchObject({ type: 'query', includeAll: true, allValue: '.*', datasource: { uid: '${datasource}' } });
        expect(variableQuery(vars[name]!)).toMatch(/^label_values\(/);
      }
      const ids = new Set<number>();
      for (const panel of allPanels(json)) {
        expect(ids.has(panel.id), `duplicate panel id ${panel.id}`).toBe(false);
        ids.add(panel.id);
        expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
        if (panel.type === 'row') continue;
        expect(panel.description, `panel "${panel.title}" explains itself`).toBeTruthy();
        expect(panel.datasource?.uid).toBe('${datasource}');
        expect(panel.targets?.length, `panel "${panel.title}" has queries`).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) {
          expect(target.datasource?.uid).toBe('${datasource}');
          expect(target.expr.trim()).not.toBe('');
        }
      }
    },
  );

  it('use only variables they define, and select every series by namespace', () => {
    for (const { file, json } of dashboards) {
      const defined = new Set(json.templating.list.map((v) => v.name));
      const queries = [...panelTargets([{ file, json }]).map((t) => t.expr), ...json.templating.list.map(variableQuery).filter((q): q is string => !!q)];
      for (const expr of queries) {
        for (const [, name] of expr.matchAll(/\$\{?(\w+)\}?/g)) {
          if (!name!.startsWith('__')) expect(defined.has(name!), `${file}: $${name} in ${expr}`).toBe(true);
        }
        for (const [selector] of expr.matchAll(/\{[^}]*\}/g)) {
          expect(selector, `${file}: ${expr}`).toContain('namespace=~"$namespace"');
        }
        expect(substitute(expr, { rateInterval: '1m', range: '5m' }), `${file}: unsubstituted variable`).not.toMatch(/\$/);
      }
      for (const v of json.templating.list) {
        const q = variableQuery(v);
        if (q) expect(() => labelValuesAsQuery(q)).not.toThrow();
      }
    }
  });

  it('show what the issue asks for on each dashboard', () => {
    const overview = exprsOf('nws-watermark-overview');
    expect(overview).toMatch(/sum by \(result\) \(rate\(watermark_uploads_total/);
    for (const q of ['0.5', '0.95', '0.99'])
      expect(overview).toContain(`histogram_quantile(${q}, sum by (le) (rate(watermark_http_request_duration_seconds_bucket`);
    expect(overview).toContain('result="cache_hit"');
    expect(overview).toContain('watermark_optimizer_circuit_open');
    expect(overview).toMatch(/sum by \(caller, outcome\) \(rate\(watermark_optimizer_calls_total/);
    expect(overview).toContain('status_code="202"');

    const queue = exprsOf('nws-watermark-queue');
    expect(queue).toMatch(/sum by \(queue, state\) \(watermark_queue_messages/);
    for (const m of ['published', 'acked', 'nacked', 'retried', 'dead_lettered']) expect(queue).toContain(`watermark_jobs_${m}_total`);
    expect(queue).toContain('watermark_job_duration_seconds_bucket');
    expect(queue).toContain('rabbitmq_detailed_queue_head_message_timestamp');

    const scaler = exprsOf('nws-watermark-autoscaler');
    for (const m of ['desired_replicas', 'current_replicas', 'scaling_events_total', 'errors_total']) expect(scaler).toContain(`watermark_scaler_${m}`);

    const rabbit = exprsOf('nws-watermark-rabbitmq');
    expect(metricNames(rabbit).every((n) => n.startsWith('rabbitmq_'))).toBe(true);
    expect(rabbit).toContain('rabbitmq_detailed_queue_consumers');
  });

  it('and the alert rules name only metrics our code declares (rabbitmq_* are checked against the broker)', async () => {
    const declared = await declaredByOurCode();
    const queries = [
      ...targets.map((t) => ({ where: `${t.dashboard} "${t.panel}"`, expr: t.expr })),
      ...dashboards.flatMap((d) =>
        d.json.templating.list.flatMap((v) => (variableQuery(v) ? [{ where: `${d.file} $${v.name}`, expr: variableQuery(v)! }] : [])),
      ),
      ...loadRules().map((r) => ({ where: `rule ${r.alert}`, expr: r.expr })),
    ];
    const unknown = queries.flatMap(({ where, expr }) =>
      metricNames(expr.replace(/^label_values\((.*),\s*\w+\)$/s, '$1'))
        .filter((name) => !name.startsWith('rabbitmq_') && !isExported(name, declared))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });
});
