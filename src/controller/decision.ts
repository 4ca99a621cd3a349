/**
 * One pass's decision, pure, over everything that may override the replica arithmetic, in the
 * order they win (KEDA's ScaledObject has the same catches):
 * 1. paused (the annotation watermark.nws.io/paused-replicas): exactly that many, whatever else;
 * 2. the depth unreadable: with spec.fallback, after failureThreshold failed reads in a row, its
 *    replicas; before that, or without it, the current replicas held (never to zero on an error);
 * 3. otherwise decideScale (scaling.ts) with its windows and rate policies.
 * Bounds apply to 2 and 3; a pause is the operator's explicit word and is taken as said.
 */
import { clamp, decideScale, type ScalingDecision, type ScalingPolicy, type ScalingState } from './scaling.js';

export interface Fallback {
  failureThreshold: number;
  replicas: number;
}

export type DepthReading = { ready: number; unacked: number | undefined } | { unavailable: string };

export interface DecisionInput {
  policy: ScalingPolicy;
  fallback?: Fallback | undefined;
  pausedReplicas?: number | undefined;
  depth: DepthReading;
  /** Replicas the target is set to. */
  currentReplicas: number;
  now: number;
}

export interface DecisionState {
  scaling?: ScalingState | undefined;
  /** Failed depth reads in a row. */
  failures: number;
}

export type Decision = { desiredReplicas: number; state: DecisionState } & (
  { kind: 'paused' } | { kind: 'hold'; failures: number } | { kind: 'fallback'; failures: number } | { kind: 'scaled'; scaling: ScalingDecision }
);

export function decide(input: DecisionInput, previous: DecisionState | undefined): Decision {
  const { policy, depth, currentReplicas, now } = input;
  const failures = 'unavailable' in depth ? (previous?.failures ?? 0) + 1 : 0;
  if (input.pausedReplicas !== undefined) {
    return { kind: 'paused', desiredReplicas: input.pausedReplicas, state: { scaling: previous?.scaling, failures } };
  }
  if ('unavailable' in depth) {
    const { fallback } = input;
    if (fallback && failures >= fallback.failureThreshold) {
      // The window and cooldown start afresh: once the queue reads again, the scaler looks at it
      // as a restarted one would, and holds the fallback replicas for one window before going down.
      const desiredReplicas = clamp(fallback.replicas, policy.minReplicas, policy.maxReplicas);
      return { kind: 'fallback', desiredReplicas, failures, state: { failures } };
    }
    const desiredReplicas = clamp(currentReplicas, policy.minReplicas, policy.maxReplicas);
    return { kind: 'hold', desiredReplicas, failures, state: { scaling: previous?.scaling, failures } };
  }
  const scaling = decideScale(policy, { ready: depth.ready, unacked: depth.unacked, currentReplicas, now }, previous?.scaling);
  return { kind: 'scaled', desiredReplicas: scaling.desiredReplicas, scaling, state: { scaling: scaling.state, failures } };
}
