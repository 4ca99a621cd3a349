/** Random scaling policies for the property tests of the scaling function and what builds on it. */
import fc from 'fast-check';
import type { Behavior } from '../../../src/controller/behavior.js';
import type { ScalingPolicy } from '../../../src/controller/scaling.js';

/** Valid policies (min ≤ max, max ≥ 1); `behavior` when given, none otherwise. */
export function scalingPolicyArb(options: { maxSpan?: number; maxSeconds?: number; behavior?: fc.Arbitrary<Behavior> } = {}): fc.Arbitrary<ScalingPolicy> {
  const seconds = fc.integer({ min: 0, max: options.maxSeconds ?? 300 });
  return fc
    .record({
      minReplicas: fc.integer({ min: 0, max: 5 }),
      span: fc.integer({ min: 0, max: options.maxSpan ?? 20 }),
      messagesPerReplica: fc.integer({ min: 1, max: 100 }),
      activationMessages: fc.integer({ min: 0, max: 50 }),
      scaleDownStabilizationSeconds: seconds,
      cooldownSeconds: seconds,
      tolerance: fc.double({ min: 0, max: 0.5, noNaN: true, maxExcluded: true }),
      behavior: options.behavior ?? fc.constant(undefined),
    })
    .map(({ span, ...p }): ScalingPolicy => ({ ...p, maxReplicas: Math.max(1, p.minReplicas + span) }));
}
