/**
 * The pass's decision over its overrides, pure: a pause wins over everything, the fallback comes
 * only after failureThreshold failed reads in a row, without it failed reads hold the replicas.
 * Properties over random timelines of readable and unreadable depths (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type DecisionState, type DepthReading, type Fallback } from '../../../src/controller/decision.js';
import type { ScalingPolicy } from '../../../src/controller/scaling.js';
import { scalingPolicyArb } from './arbitraries.js';

const policyArb = scalingPolicyArb({ maxSeconds: 60 });

const fallbackArb: fc.Arbitrary<Fallback | undefined> = fc.option(
  fc.record({ failureThreshold: fc.integer({ min: 1, max: 5 }), replicas: fc.integer({ min: 0, max: 30 }) }),
  { nil: undefined },
);

const depthArb: fc.Arbitrary<DepthReading> = fc.oneof(
  fc.record({ ready: fc.nat(500), unacked: fc.option(fc.nat(50), { nil: undefined }) }),
  fc.constant({ unavailable: 'management API: down; AMQP: down' }),
);

interface Run {
  kind: string;
  current: number;
  desired: number;
  failuresInARow: number;
}

function run(policy: ScalingPolicy, fallback: Fallback | undefined, paused: (i: number) => number | undefined, start: number, depths: DepthReading[]): Run[] {
  let state: DecisionState | undefined;
  let current = start;
  let inARow = 0;
  return depths.map((depth, i) => {
    inARow = 'unavailable' in depth ? inARow + 1 : 0;
    const d = decide({ policy, fallback, pausedReplicas: paused(i), depth, currentReplicas: current, now: (i + 1) * 5_000 }, state);
    const out = { kind: d.kind, current, desired: d.desiredReplicas, failuresInARow: inARow };
    state = d.state;
    current = d.desiredReplicas;
    return out;
  });
}

const scenarioArb = fc.tuple(policyArb, fallbackArb, fc.nat(30), fc.array(depthArb, { minLength: 1, maxLength: 30 }));

describe('decide properties', () => {
  it('a pause wins over everything: exactly the paused replicas, whatever the depth, the bounds or the fallback', () => {
    fc.assert(
      fc.property(scenarioArb, fc.nat(50), ([policy, fallback, start, depths], pausedAt) => {
        for (const r of run(policy, fallback, () => pausedAt, start, depths)) expect(r).toMatchObject({ kind: 'paused', desired: pausedAt });
      }),
    );
  });

  it('falls back only after failureThreshold failed reads in a row, and then to its replicas within the bounds', () => {
    fc.assert(
      fc.property(scenarioArb, ([policy, fallback, start, depths]) => {
        for (const r of run(policy, fallback, () => undefined, start, depths)) {
          const due = fallback !== undefined && r.failuresInARow >= fallback.failureThreshold;
          expect(r.kind === 'fallback').toBe(due);
          if (due) expect(r.desired).toBe(Math.min(Math.max(fallback.replicas, policy.minReplicas), policy.maxReplicas));
        }
      }),
    );
  });

  it('without a fallback, holds the current replicas (within the bounds) on every failed read', () => {
    fc.assert(
      fc.property(scenarioArb, ([policy, , start, depths]) => {
        for (const r of run(policy, undefined, () => undefined, start, depths)) {
          if (r.failuresInARow > 0) expect(r).toMatchObject({ kind: 'hold', desired: Math.min(Math.max(r.current, policy.minReplicas), policy.maxReplicas) });
        }
      }),
    );
  });

  it('stays within the bounds whenever it is not paused', () => {
    fc.assert(
      fc.property(scenarioArb, ([policy, fallback, start, depths]) => {
        for (const r of run(policy, fallback, () => undefined, start, depths)) {
          expect(r.desired).toBeGreaterThanOrEqual(policy.minReplicas);
          expect(r.desired).toBeLessThanOrEqual(policy.maxReplicas);
        }
      }),
    );
  });
});

describe('decide', () => {
  const policy: ScalingPolicy = {
    minReplicas: 1,
    maxReplicas: 10,
    messagesPerReplica: 10,
    activationMessages: 0,
    scaleDownStabilizationSeconds: 60,
    cooldownSeconds: 0,
    tolerance: 0.1,
  };
  const down: DepthReading = { unavailable: 'down' };

  it('counts failed reads in a row and starts again at a good one', () => {
    const fallback = { failureThreshold: 2, replicas: 6 };
    const kinds = run(policy, fallback, () => undefined, 3, [down, down, down, { ready: 30, unacked: 0 }, down]).map((r) => `${r.kind}:${r.desired}`);
    expect(kinds).toEqual(['hold:3', 'fallback:6', 'fallback:6', 'scaled:6', 'hold:6']);
  });

  it('after a fallback, holds its replicas for a stabilization window before scaling down', () => {
    const fallback = { failureThreshold: 1, replicas: 8 };
    const kinds = run(policy, fallback, () => undefined, 2, [down, { ready: 10, unacked: 0 }]).map((r) => `${r.kind}:${r.desired}`);
    expect(kinds).toEqual(['fallback:8', 'scaled:8']);
  });
});
