/**
 * spec.behavior in the pure scaling function: properties over random policies and queue timelines
 * (fast-check), checked against a history the test keeps itself, not against the module's own
 * bookkeeping; and the HPA's arithmetic on a few plain timelines.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Behavior, RatePolicy, ScalingRules } from '../../../src/controller/behavior.js';
import { decideScale, type ScalingPolicy, type ScalingState } from '../../../src/controller/scaling.js';
import { scalingPolicyArb } from './arbitraries.js';

const ratePolicyArb = (maxPercent: number): fc.Arbitrary<RatePolicy> =>
  fc.oneof(
    fc.record({ type: fc.constant('Pods' as const), value: fc.integer({ min: 1, max: 5 }), periodSeconds: fc.integer({ min: 1, max: 120 }) }),
    fc.record({ type: fc.constant('Percent' as const), value: fc.integer({ min: 1, max: maxPercent }), periodSeconds: fc.integer({ min: 1, max: 120 }) }),
  );

const rulesArb = (maxPercent: number): fc.Arbitrary<ScalingRules> =>
  fc.record({
    stabilizationWindowSeconds: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    selectPolicy: fc.constantFrom('Max' as const, 'Min' as const, 'Disabled' as const),
    policies: fc.array(ratePolicyArb(maxPercent), { minLength: 0, maxLength: 3 }),
  });

const behaviorArb: fc.Arbitrary<Behavior> = fc.record({ scaleUp: rulesArb(300), scaleDown: rulesArb(100) });

const policyArb = scalingPolicyArb({ maxSpan: 30, maxSeconds: 60, behavior: behaviorArb });

/** Steps of (seconds since the previous one, ready, unacked). */
const timelineArb = fc.array(fc.tuple(fc.integer({ min: 1, max: 40 }), fc.nat(600), fc.option(fc.nat(50), { nil: undefined })), {
  minLength: 1,
  maxLength: 40,
});

interface Step {
  at: number;
  before: number;
  after: number;
}

/** Runs the timeline from `start` replicas, applying each decision, and returns every step. */
function simulate(policy: ScalingPolicy, start: number, timeline: [number, number, number | undefined][]): Step[] {
  let state: ScalingState | undefined;
  let current = start;
  let at = 0;
  const steps: Step[] = [];
  for (const [dt, ready, unacked] of timeline) {
    at += dt * 1000;
    const d = decideScale(policy, { ready, unacked, currentReplicas: current, now: at }, state);
    steps.push({ at, before: current, after: d.desiredReplicas });
    state = d.state;
    current = d.desiredReplicas;
  }
  return steps;
}

/** Replicas in effect at `time`: after every step at or before it (the HPA's period start). */
function replicasAt(start: number, steps: readonly Step[], time: number): number {
  return steps.filter((s) => s.at <= time).reduce((_, s) => s.after, start);
}

/** What one policy allows at step i, from the history alone. */
function allowed(policy: RatePolicy, direction: 'up' | 'down', start: number, steps: readonly Step[], i: number): number {
  const step = steps[i]!;
  const periodStart = replicasAt(start, steps.slice(0, i), step.at - policy.periodSeconds * 1000);
  if (direction === 'up') return policy.type === 'Pods' ? periodStart + policy.value : Math.ceil(periodStart * (1 + policy.value / 100));
  return policy.type === 'Pods' ? periodStart - policy.value : Math.trunc(periodStart * (1 - policy.value / 100));
}

const startArb = (policy: ScalingPolicy) => fc.integer({ min: policy.minReplicas, max: policy.maxReplicas });
const scenarioArb = policyArb.chain((policy) => fc.tuple(fc.constant(policy), startArb(policy), timelineArb));

describe('spec.behavior properties', () => {
  it('never goes beyond [minReplicas, maxReplicas]', () => {
    fc.assert(
      fc.property(scenarioArb, ([policy, start, timeline]) => {
        for (const s of simulate(policy, start, timeline)) {
          expect(s.after).toBeGreaterThanOrEqual(policy.minReplicas);
          expect(s.after).toBeLessThanOrEqual(policy.maxReplicas);
        }
      }),
    );
  });

  it('never changes more in a period than the policies allow (Max: the most generous one; Min: the strictest)', () => {
    fc.assert(
      fc.property(scenarioArb, ([policy, start, timeline]) => {
        const steps = simulate(policy, start, timeline);
        steps.forEach((s, i) => {
          if (s.after === s.before) return;
          const direction = s.after > s.before ? 'up' : 'down';
          const rules = direction === 'up' ? policy.behavior?.scaleUp : policy.behavior?.scaleDown;
          if (!rules || rules.policies.length === 0 || rules.selectPolicy === 'Disabled') return;
          const limits = rules.policies.map((p) => allowed(p, direction, start, steps, i));
          if (direction === 'up') {
            const limit = rules.selectPolicy === 'Max' ? Math.max(...limits) : Math.min(...limits);
            // Leaving zero is activation: one replica is always allowed from zero.
            expect(s.after).toBeLessThanOrEqual(Math.max(limit, s.before === 0 ? 1 : 0));
          } else {
            const limit = rules.selectPolicy === 'Max' ? Math.min(...limits) : Math.max(...limits);
            expect(s.after).toBeGreaterThanOrEqual(limit);
          }
        });
      }),
    );
  });

  it('makes no change in a direction whose selectPolicy is Disabled', () => {
    fc.assert(
      fc.property(scenarioArb, fc.constantFrom('scaleUp' as const, 'scaleDown' as const), ([policy, start, timeline], direction) => {
        const rules: ScalingRules = { selectPolicy: 'Disabled', policies: [] };
        const disabled: ScalingPolicy = { ...policy, behavior: { ...policy.behavior, [direction]: rules } };
        for (const s of simulate(disabled, start, timeline)) {
          if (direction === 'scaleUp') expect(s.after).toBeLessThanOrEqual(s.before);
          else expect(s.after).toBeGreaterThanOrEqual(s.before);
        }
      }),
    );
  });

  it('changes nothing when behavior is absent or empty (the scaling of before spec.behavior)', () => {
    fc.assert(
      fc.property(scenarioArb, ([policy, start, timeline]) => {
        const without: ScalingPolicy = { ...policy, behavior: undefined };
        const empty: ScalingPolicy = { ...policy, behavior: {} };
        expect(simulate(empty, start, timeline)).toEqual(simulate(without, start, timeline));
      }),
    );
  });
});

describe('spec.behavior timelines', () => {
  const base: ScalingPolicy = {
    minReplicas: 1,
    maxReplicas: 100,
    messagesPerReplica: 10,
    activationMessages: 0,
    scaleDownStabilizationSeconds: 0,
    cooldownSeconds: 0,
    tolerance: 0,
  };
  const up = (rules: ScalingRules): ScalingPolicy => ({ ...base, behavior: { scaleUp: rules } });

  it('adds at most 4 pods per 15 s with a Pods policy, then more once the period has passed', () => {
    const policy = up({ selectPolicy: 'Max', policies: [{ type: 'Pods', value: 4, periodSeconds: 15 }] });
    const steps = simulate(policy, 1, [
      [1, 1000, 0],
      [5, 1000, 0],
      [10, 1000, 0],
      [15, 1000, 0],
    ]);
    expect(steps.map((s) => s.after)).toEqual([5, 5, 9, 13]);
  });

  it('takes the more generous of Pods and Percent with Max, the stricter with Min', () => {
    const policies: RatePolicy[] = [
      { type: 'Pods', value: 4, periodSeconds: 15 },
      { type: 'Percent', value: 100, periodSeconds: 15 },
    ];
    expect(simulate(up({ selectPolicy: 'Max', policies }), 10, [[1, 1000, 0]])[0]?.after).toBe(20);
    expect(simulate(up({ selectPolicy: 'Min', policies }), 10, [[1, 1000, 0]])[0]?.after).toBe(14);
  });

  it('lets a Percent policy leave zero with one replica', () => {
    const policy: ScalingPolicy = { ...up({ selectPolicy: 'Max', policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] }), minReplicas: 0 };
    expect(simulate(policy, 0, [[1, 500, 0]])[0]?.after).toBe(1);
  });

  it('holds a scale-up for the scale-up window: the lowest recommendation of the window wins', () => {
    const policy = up({ selectPolicy: 'Max', policies: [], stabilizationWindowSeconds: 30 });
    const steps = simulate(policy, 1, [
      [1, 20, 0], // 2, the first of the window
      [10, 80, 0], // 8 recommended, 2 the lowest of the window
      [25, 80, 0], // the 2 has left the window
    ]);
    expect(steps.map((s) => s.after)).toEqual([2, 2, 8]);
  });

  it('removes at most one pod a minute with a scale-down Pods policy', () => {
    const policy: ScalingPolicy = { ...base, behavior: { scaleDown: { selectPolicy: 'Max', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } } };
    const steps = simulate(policy, 5, [
      [1, 0, 0],
      [30, 0, 0],
      [30, 0, 0],
    ]);
    expect(steps.map((s) => s.after)).toEqual([4, 4, 3]);
  });

  it('lets scaleDown.stabilizationWindowSeconds replace scaleDownStabilizationSeconds', () => {
    const policy: ScalingPolicy = {
      ...base,
      scaleDownStabilizationSeconds: 300,
      behavior: { scaleDown: { selectPolicy: 'Max', policies: [], stabilizationWindowSeconds: 0 } },
    };
    expect(
      simulate(policy, 1, [
        [1, 80, 0],
        [1, 10, 0],
      ]).map((s) => s.after),
    ).toEqual([8, 1]);
  });
});
