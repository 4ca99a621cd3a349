/**
 * What the observability tests read from the dashboards and the alert rules: every PromQL query
 * (panel targets, template-variable queries, rule expressions), the Grafana variables substituted
 * to concrete values, and the metric names each query uses.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DASHBOARD_DIR = join(ROOT, 'charts/nws-watermark/dashboards');
export const RULE_DIR = join(ROOT, 'charts/nws-watermark/rules');
export const PROMTOOL_TESTS = join(ROOT, 'tests/observability/promtool');

export interface Target {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

export interface Dashboard {
  file: string;
  json: GrafanaDashboard;
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: { type?: string; uid?: string } }[];
  panels?: GrafanaPanel[];
}

export interface GrafanaVariable {
  name: string;
  type: string;
  query?: string | { query: string };
  definition?: string;
  includeAll?: boolean;
  allValue?: string;
  datasource?: { type?: string; uid?: string };
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8')) as GrafanaDashboard }));
}

/** Every panel, rows' nested panels included. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function panelTargets(dashboards: Dashboard[]): Target[] {
  return dashboards.flatMap(({ file, json }) =>
    allPanels(json).flatMap((panel) => (panel.targets ?? []).map((t) => ({ dashboard: file, panel: panel.title, refId: t.refId, expr: t.expr }))),
  );
}

export function variableQuery(variable: GrafanaVariable): string | undefined {
  if (variable.type !== 'query') return undefined;
  return typeof variable.query === 'string' ? variable.query : variable.query?.query;
}

/** `label_values(selector, label)` → the PromQL that shows whether that selector has series. */
export function labelValuesAsQuery(query: string): string {
  const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(query.trim());
  if (!m) throw new Error(`not a label_values(selector, label) query: ${query}`);
  return `count by (${m[2]}) (${m[1]})`;
}

export function ruleFiles(): string[] {
  return readdirSync(RULE_DIR)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(RULE_DIR, f));
}

export function loadRules(): AlertRule[] {
  return ruleFiles().flatMap((file) => {
    const doc = parse(readFileSync(file, 'utf8')) as { groups: { rules: AlertRule[] }[] };
    return doc.groups.flatMap((g) => g.rules);
  });
}

/** Grafana's variables, replaced by what the local Prometheus test queries with. */
export function substitute(expr: string, values: { rateInterval: string; range: string }): string {
  return expr
    .replaceAll('$__rate_interval', values.rateInterval)
    .replaceAll('$__interval', values.rateInterval)
    .replaceAll('$__range', values.range)
    .replace(/\$\{?(namespace|instance|vhost|scaler|pod|job)\}?/g, '.*');
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'inf',
  'nan',
  'atan2',
]);

/**
 * The metric names a PromQL expression selects: identifiers that are neither functions, keywords,
 * label names (inside {…} or by/on/without(…)) nor durations.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w$.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || KEYWORDS.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names].sort();
}

/** Names a /metrics page exports: sample names, and the families its # TYPE lines declare. */
export function exportedNames(text: string): { samples: Set<string>; families: Map<string, string> } {
  const samples = new Set<string>();
  const families = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) families.set(type[1]!, type[2]!);
    else if (line && !line.startsWith('#')) samples.add(line.split(/[{ ]/, 1)[0]!);
  }
  return { samples, families };
}

/** Whether `name` is exported: as a sample, a declared family, or a histogram/summary's series. */
export function isExported(name: string, exported: { samples: Set<string>; families: Map<string, string> }): boolean {
  if (exported.samples.has(name) || exported.families.has(name)) return true;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m) return false;
  const type = exported.families.get(m[1]!);
  return type === 'histogram' || (type === 'summary' && m[2] !== 'bucket');
}
