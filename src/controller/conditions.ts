/**
 * Status conditions from what one reconciliation found, pure. A condition keeps its
 * lastTransitionTime while its status stays the same, so `kubectl describe` shows since when a
 * scaler has been failing, not when it was last polled.
 */
import type { Condition, ConditionType } from './queue-scaler.js';
import type { Limit } from './scaling.js';

export interface ConditionInput {
  status: Condition['status'];
  reason: string;
  message: string;
}

export type ReconcileFacts =
  | { kind: 'invalid-spec'; message: string }
  | { kind: 'depth-unavailable'; message: string; currentReplicas: number | undefined }
  | { kind: 'target-not-found'; message: string }
  | { kind: 'target-forbidden'; message: string; permission: string }
  | { kind: 'target-unavailable'; message: string }
  | {
      kind: 'scaled';
      /** Why unacked is unknown, when it is (the depth source's words); absent when it was counted. */
      unackedUnknown?: string;
      active: boolean;
      depth: number;
      activationMessages: number;
      limitedBy: Limit;
      minReplicas: number;
      maxReplicas: number;
      rawReplicas: number;
      reason: string;
    };

/** A pass that could not scale: only Ready changes, the other conditions keep what they said. */
function notReady(reason: string, message: string): Partial<Record<ConditionType, ConditionInput>> {
  return { Ready: { status: 'False', reason, message } };
}

export function conditionInputs(facts: ReconcileFacts): Partial<Record<ConditionType, ConditionInput>> {
  switch (facts.kind) {
    case 'invalid-spec':
      return notReady('InvalidSpec', facts.message);
    case 'depth-unavailable':
      return notReady('QueueUnreadable', `cannot read the queue depth (${facts.message}); keeping ${facts.currentReplicas ?? 'the current'} replicas`);
    case 'target-not-found':
      return notReady('TargetNotFound', facts.message);
    case 'target-forbidden':
      return notReady('Forbidden', `the controller lacks the permission to ${facts.permission}: ${facts.message}`);
    case 'target-unavailable':
      return notReady('TargetUnavailable', facts.message);
    case 'scaled': {
      const ready: ConditionInput =
        facts.unackedUnknown === undefined
          ? { status: 'True', reason: 'ScalerReady', message: facts.reason }
          : {
              status: 'True',
              reason: 'UnackedUnknown',
              message: `unacked is unknown: ${facts.unackedUnknown}; the depth counts ready messages only (AMQP passive declare), so the scaler will not scale to zero (${facts.reason})`,
            };
      const active: ConditionInput = facts.active
        ? { status: 'True', reason: 'QueueHasWork', message: `${facts.depth} messages (activation above ${facts.activationMessages}), or cooldown running` }
        : { status: 'False', reason: 'QueueIdle', message: `${facts.depth} messages, not above activationMessages ${facts.activationMessages}, cooldown over` };
      const limited: ConditionInput =
        facts.limitedBy === 'max'
          ? { status: 'True', reason: 'TooManyReplicas', message: `${facts.rawReplicas} replicas wanted, capped at maxReplicas ${facts.maxReplicas}` }
          : facts.limitedBy === 'min'
            ? { status: 'True', reason: 'TooFewReplicas', message: `${facts.rawReplicas} replicas wanted, raised to minReplicas ${facts.minReplicas}` }
            : {
                status: 'False',
                reason: 'DesiredWithinRange',
                message: `${facts.rawReplicas} replicas wanted, within [${facts.minReplicas}, ${facts.maxReplicas}]`,
              };
      return { Ready: ready, Active: active, ScalingLimited: limited };
    }
  }
}

const ORDER: ConditionType[] = ['Ready', 'Active', 'ScalingLimited'];

/** Merges new inputs over the previous conditions; a type with no new input keeps its old value. */
export function mergeConditions(
  previous: readonly Condition[],
  inputs: Partial<Record<ConditionType, ConditionInput>>,
  nowIso: string,
  observedGeneration: number | undefined,
): Condition[] {
  const out: Condition[] = [];
  for (const type of ORDER) {
    const old = previous.find((c) => c.type === type);
    const input = inputs[type];
    if (!input) {
      if (old) out.push(old);
      continue;
    }
    out.push({
      type,
      status: input.status,
      reason: input.reason,
      message: input.message,
      lastTransitionTime: old?.status === input.status ? old.lastTransitionTime : nowIso,
      ...(observedGeneration !== undefined ? { observedGeneration } : {}),
    });
  }
  return out;
}
