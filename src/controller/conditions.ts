/**
 * Status conditions from what one reconciliation found, pure. A condition keeps its
 * lastTransitionTime while its status stays the same, so `kubectl describe` shows since when a
 * scaler has been failing, not when it was last polled.
 */
import type { Fallback } from './decision.js';
import { PAUSED_REPLICAS_ANNOTATION, type Condition, type ConditionType } from './queue-scaler.js';
import type { Limit } from './scaling.js';

export interface ConditionInput {
  status: Condition['status'];
  reason: string;
  message: string;
}

export type ReconcileFacts =
  | { kind: 'invalid-spec'; message: string }
  | {
      kind: 'depth-unavailable';
      message: string;
      currentReplicas: number | undefined;
      /** Failed reads in a row, this one included. */
      failures?: number;
      fallback?: Fallback | undefined;
      /** The failures reached fallback.failureThreshold: currentReplicas are the fallback's. */
      fallbackActive?: boolean;
    }
  | { kind: 'paused'; replicas: number }
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
      rateLimited?: 'scaleUp' | 'scaleDown' | undefined;
      minReplicas: number;
      maxReplicas: number;
      rawReplicas: number;
      reason: string;
      fallback?: Fallback | undefined;
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
      return depthUnavailable(facts);
    case 'paused':
      return {
        Ready: { status: 'True', reason: 'ScalingPaused', message: `scaling paused at ${facts.replicas} replicas by ${PAUSED_REPLICAS_ANNOTATION}` },
        Paused: {
          status: 'True',
          reason: 'PausedByAnnotation',
          message: `${PAUSED_REPLICAS_ANNOTATION} is "${facts.replicas}": held at ${facts.replicas} replicas; remove the annotation to resume`,
        },
      };
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
        facts.rateLimited !== undefined && facts.limitedBy !== 'max'
          ? { status: 'True', reason: 'RateLimited', message: `${facts.rateLimited} behavior held the change back: ${facts.reason}` }
          : facts.limitedBy === 'max'
            ? { status: 'True', reason: 'TooManyReplicas', message: `${facts.rawReplicas} replicas wanted, capped at maxReplicas ${facts.maxReplicas}` }
            : facts.limitedBy === 'min'
              ? { status: 'True', reason: 'TooFewReplicas', message: `${facts.rawReplicas} replicas wanted, raised to minReplicas ${facts.minReplicas}` }
              : {
                  status: 'False',
                  reason: 'DesiredWithinRange',
                  message: `${facts.rawReplicas} replicas wanted, within [${facts.minReplicas}, ${facts.maxReplicas}]`,
                };
      return { Ready: ready, Active: active, Paused: NOT_PAUSED, Fallback: fallbackIdle(facts.fallback), ScalingLimited: limited };
    }
  }
}

const NOT_PAUSED: ConditionInput = { status: 'False', reason: 'NotPaused', message: `no ${PAUSED_REPLICAS_ANNOTATION} annotation` };

function fallbackIdle(fallback: Fallback | undefined): ConditionInput {
  return fallback
    ? {
        status: 'False',
        reason: 'QueueReadable',
        message: `the depth was read; ${fallback.failureThreshold} failed reads in a row would scale to ${fallback.replicas}`,
      }
    : { status: 'False', reason: 'NoFallback', message: 'no spec.fallback: failed depth reads keep the current replicas' };
}

/** A failed depth read: Ready says why, Fallback how many failed in a row and what is done about it. */
function depthUnavailable(facts: Extract<ReconcileFacts, { kind: 'depth-unavailable' }>): Partial<Record<ConditionType, ConditionInput>> {
  const { fallback, failures = 1 } = facts;
  const replicas = facts.currentReplicas ?? 'the current';
  if (facts.fallbackActive && fallback) {
    const message = `${failures} failed depth reads in a row (failureThreshold ${fallback.failureThreshold}): scaled to the fallback's ${replicas} replicas; last error: ${facts.message}`;
    return {
      Ready: { status: 'False', reason: 'QueueUnreadable', message: `cannot read the queue depth (${facts.message}); fallback to ${replicas} replicas` },
      Fallback: { status: 'True', reason: 'FallbackActive', message },
    };
  }
  return {
    Ready: { status: 'False', reason: 'QueueUnreadable', message: `cannot read the queue depth (${facts.message}); keeping ${replicas} replicas` },
    Fallback: fallback
      ? {
          status: 'False',
          reason: 'BelowThreshold',
          message: `${failures} of ${fallback.failureThreshold} failed depth reads in a row before the fallback's ${fallback.replicas} replicas; keeping ${replicas}`,
        }
      : fallbackIdle(undefined),
  };
}

const ORDER: ConditionType[] = ['Ready', 'Active', 'Paused', 'Fallback', 'ScalingLimited'];

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
