/**
 * The alert rules: valid for promtool, unit-tested with `promtool test rules`, and every alert has
 * both a test where it fires and one where it stays quiet — proved by mutation: an alert rewritten
 * to always fire must fail its quiet tests, and one rewritten to never fire must fail its firing tests.
 * Every alert also carries the annotations an on-call person needs and has a runbook section.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PROMTOOL_TESTS, ROOT, loadRules, ruleFiles, type AlertRule } from './promql.js';

const run = promisify(execFile);
const TEST_FILE = join(PROMTOOL_TESTS, 'alerts.test.yaml');
const work = mkdtempSync(join(tmpdir(), 'nws-promtool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function promtool(...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error("promtool not found: install Debian's prometheus package (scripts/install-system-deps.sh)", { cause: err });
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

interface PromtoolTestFile {
  rule_files: string[];
  evaluation_interval?: string;
  tests: { name?: string; interval?: string; input_series: unknown[]; alert_rule_test?: { eval_time: string; alertname: string; exp_alerts?: unknown[] }[] }[];
}

const rules = loadRules();
const alerts = rules.filter((r): r is AlertRule => typeof r.alert === 'string');
const unitTests = parse(readFileSync(TEST_FILE, 'utf8')) as PromtoolTestFile;

/** The unit tests reduced to one alert's firing (or quiet) expectations, run against `rulesFile`. */
function subset(alert: string, firing: boolean, rulesFile: string): PromtoolTestFile {
  const tests = unitTests.tests
    .map((t) => ({
      ...t,
      alert_rule_test: (t.alert_rule_test ?? []).filter((a) => a.alertname === alert && (a.exp_alerts ?? []).length > 0 === firing),
    }))
    .filter((t) => t.alert_rule_test.length > 0);
  return { ...unitTests, rule_files: [rulesFile], tests };
}

/** The rule files with one alert's expression replaced. */
function mutatedRules(alert: string, expr: string): string {
  const file = join(work, `${alert}-${expr.replace(/\W+/g, '_')}.rules.yaml`);
  const docs = ruleFiles().map((f) => parse(readFileSync(f, 'utf8')) as { groups: { name: string; rules: AlertRule[] }[] });
  const groups = docs.flatMap((d) => d.groups).map((g) => ({ ...g, rules: g.rules.map((r) => (r.alert === alert ? { ...r, expr } : r)) }));
  writeFileSync(file, stringify({ groups }));
  return file;
}

describe('alert rules', () => {
  it('cover what the issue asks for', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'WatermarkApiErrorRatio',
      'WatermarkBacklogGrowing',
      'WatermarkDeadLetterQueueReceiving',
      'WatermarkNoWorkerConsuming',
      'WatermarkOldestJobTooOld',
      'WatermarkOptimizerUnavailable',
      'WatermarkScalerAtMaxReplicas',
      'WatermarkScalerFailing',
    ]);
  });

  it('pass promtool check rules', async () => {
    for (const file of ruleFiles()) {
      const { code, output } = await promtool('check', 'rules', file);
      expect(code, output).toBe(0);
      expect(output).toMatch(/SUCCESS: \d+ rules found/);
    }
  });

  it('pass their promtool unit tests', async () => {
    const { code, output } = await promtool('test', 'rules', TEST_FILE);
    expect(code, output).toBe(0);
    expect(output).toContain('SUCCESS');
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s has a severity, a summary, a description and a runbook section', (name, alert) => {
    expect(['warning', 'critical']).toContain(alert.labels?.severity);
    expect(alert.annotations?.summary?.length).toBeGreaterThan(10);
    expect(alert.annotations?.description?.length).toBeGreaterThan(30);
    expect(alert.annotations?.runbook_url).toBe(`docs/runbook.md#${name.toLowerCase()}`);
    const runbook = readFileSync(join(ROOT, 'docs/runbook.md'), 'utf8');
    const section = new RegExp(`^### ${name}\\n([\\s\\S]*?)(?=^##|(?![\\s\\S]))`, 'm').exec(runbook);
    expect(section, `docs/runbook.md has no "### ${name}" section`).not.toBeNull();
    for (const part of ['Meaning', 'Impact', 'Diagnosis', 'Mitigation']) expect(section![1]).toContain(`**${part}**`);
  });

  it.each(alerts.map((a) => [a.alert] as const))(
    '%s: its quiet tests catch an alert that always fires, its firing tests one that never fires',
    async (name) => {
      const quiet = subset(name, false, mutatedRules(name, 'vector(1)'));
      const firing = subset(name, true, mutatedRules(name, 'vector(1) < 0'));
      expect(quiet.tests.length, `${name} has no test where it stays quiet`).toBeGreaterThan(0);
      expect(firing.tests.length, `${name} has no test where it fires`).toBeGreaterThan(0);

      // Unmutated, the same subsets pass: the failures below come from the mutation alone.
      for (const [kind, tests] of [
        ['quiet', quiet],
        ['firing', firing],
      ] as const) {
        const original = join(work, `${name}-${kind}-original.test.yaml`);
        writeFileSync(original, stringify({ ...tests, rule_files: ruleFiles() }));
        const ok = await promtool('test', 'rules', original);
        expect(ok.code, ok.output).toBe(0);

        const mutated = join(work, `${name}-${kind}.test.yaml`);
        writeFileSync(mutated, stringify(tests));
        const caught = await promtool('test', 'rules', mutated);
        expect(caught.code, `${name} rewritten to ${kind === 'quiet' ? 'always fire' : 'never fire'} still passes:\n${caught.output}`).not.toBe(0);
        expect(caught.output).toContain(`alertname: ${name}`);
      }
    },
  );
});
