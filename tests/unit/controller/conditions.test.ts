/** Conditions from reconcile facts: reasons a human can act on, transition times kept while unchanged. */
import { describe, expect, it } from 'vitest';
import { conditionInputs, mergeConditions } from '../../../src/controller/conditions.js';

describe('conditions', () => {
  it('names the missing permission when the target is forbidden', () => {
    const inputs = conditionInputs({ kind: 'target-forbidden', message: '403', permission: 'patch deployments/scale (API group apps) in namespace prod' });
    expect(inputs.Ready).toMatchObject({ status: 'False', reason: 'Forbidden' });
    expect(inputs.Ready?.message).toContain('patch deployments/scale (API group apps) in namespace prod');
  });

  it('says unacked is unknown when only AMQP answered, while staying Ready', () => {
    const answered = 'the management API answered 404 for queue "jobs" in vhost "/": its statistics may not have caught up yet, or the queue does not exist';
    const inputs = conditionInputs({
      kind: 'scaled',
      unackedUnknown: answered,
      active: true,
      depth: 3,
      activationMessages: 0,
      limitedBy: undefined,
      minReplicas: 0,
      maxReplicas: 4,
      rawReplicas: 1,
      reason: 'steady',
    });
    expect(inputs.Ready).toMatchObject({ status: 'True', reason: 'UnackedUnknown' });
    expect(inputs.Ready?.message).toMatch(/unacked is unknown/);
    // It says what the management API answered, not that it did not answer.
    expect(inputs.Ready?.message).toContain(answered);
    expect(inputs.Ready?.message).not.toMatch(/did not answer/);
    expect(inputs.ScalingLimited).toMatchObject({ status: 'False' });
  });

  it('reports ScalingLimited when maxReplicas caps the recommendation', () => {
    const inputs = conditionInputs({
      kind: 'scaled',
      active: true,
      depth: 300,
      activationMessages: 0,
      limitedBy: 'max',
      minReplicas: 0,
      maxReplicas: 4,
      rawReplicas: 30,
      reason: 'scale up',
    });
    expect(inputs.ScalingLimited).toMatchObject({ status: 'True', reason: 'TooManyReplicas' });
  });

  it('keeps lastTransitionTime while the status stays, and changes it on a transition', () => {
    const first = mergeConditions([], { Ready: { status: 'True', reason: 'ScalerReady', message: 'a' } }, 'T1', 1);
    const same = mergeConditions(first, { Ready: { status: 'True', reason: 'ScalerReady', message: 'b' } }, 'T2', 2);
    expect(same[0]).toMatchObject({ lastTransitionTime: 'T1', message: 'b', observedGeneration: 2 });
    const flipped = mergeConditions(same, conditionInputs({ kind: 'depth-unavailable', message: 'ECONNREFUSED', currentReplicas: 3 }), 'T3', 2);
    expect(flipped[0]).toMatchObject({ status: 'False', reason: 'QueueUnreadable', lastTransitionTime: 'T3' });
    expect(flipped[0]?.message).toContain('keeping 3 replicas');
  });
});
