/**
 * The replica arithmetic, pure: queue depth in, desired replicas out, with the state that makes
 * it stable (the scale-down window and the time the queue last had work). No I/O, no clock:
 * the caller passes `now`, so the behaviour over time is tested with plain numbers.
 *
 * - recommendation: ceil((ready + unacked) / messagesPerReplica) within [minReplicas, maxReplicas];
 * - leaving zero needs more than activationMessages; scale-up applies at once;
 * - scale-down: the highest recommendation of the last scaleDownStabilizationSeconds wins, and a
 *   recommendation to go down is computed with a tolerance band (hysteresis), so a depth that
 *   wobbles around a boundary does not flap;
 * - to zero only after cooldownSeconds with an empty queue and no unacked message; an unknown
 *   unacked count (AMQP fallback) never counts as "no unacked message";
 * - `behavior` (behavior.ts): an optional scale-up window (the lowest recommendation wins), a
 *   scale-down window that replaces scaleDownStabilizationSeconds, and rate policies per direction;
 * - the spec's bounds win over everything here: a spec edit that moves them applies at once.
 */
import { eventHorizonMs, limitRate, type Behavior, type ScaleEvent } from './behavior.js';

export interface ScalingPolicy {
  minReplicas: number;
  maxReplicas: number;
  messagesPerReplica: number;
  activationMessages: number;
  scaleDownStabilizationSeconds: number;
  cooldownSeconds: number;
  /** Fraction in [0, 1): how far depth must fall below a boundary before it counts for scale-down. */
  tolerance: number;
  behavior?: Behavior | undefined;
}

export interface Observation {
  ready: number;
  /** undefined when the source cannot see unacked messages. */
  unacked: number | undefined;
  /** Replicas the target is set to (its spec), the base the decision moves from. */
  currentReplicas: number;
  /** Milliseconds since any epoch; only differences matter. */
  now: number;
}

export interface WindowEntry {
  at: number;
  replicas: number;
  /** The current replicas a fresh controller assumed: they hold a scale-down, never a scale-up. */
  seeded?: true;
}

export interface ScalingState {
  window: readonly WindowEntry[];
  /** Last time the queue had work (or its unacked count was unknown). */
  lastBusyAt: number;
  /** The scales this scaler decided, for the rate policies; absent in a state from before them. */
  events?: readonly ScaleEvent[];
}

export type Limit = 'max' | 'min' | undefined;

export interface ScalingDecision {
  desiredReplicas: number;
  /** This poll's recommendation before the window was applied. */
  recommendation: number;
  /** ceil(depth / messagesPerReplica), before any bound. */
  rawReplicas: number;
  depth: number;
  /** The scaler wants at least one replica (work in the queue, or the cooldown still running). */
  active: boolean;
  /** Which bound clipped the raw recommendation. */
  limitedBy: Limit;
  /** Which direction's rate rules (spec.behavior) held the change back, if any. */
  rateLimited: 'scaleUp' | 'scaleDown' | undefined;
  /** Why the desired count is what it is, for logs, events and conditions. */
  reason: string;
  state: ScalingState;
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/** ceil(depth / perReplica); 0 for an empty queue. */
export function replicasFor(depth: number, messagesPerReplica: number): number {
  return depth <= 0 ? 0 : Math.ceil(depth / messagesPerReplica);
}

/**
 * Replicas for a scale-down: the depth must be below the next boundary by the tolerance
 * (e.g. with 10 per replica and 10 %, 4 → 3 only once depth ≤ 27, not at 30).
 */
export function replicasForScaleDown(depth: number, messagesPerReplica: number, tolerance: number): number {
  return depth <= 0 ? 0 : Math.ceil(depth / (messagesPerReplica * (1 - tolerance)));
}

export function decideScale(policy: ScalingPolicy, observation: Observation, previous: ScalingState | undefined): ScalingDecision {
  const { ready, unacked, currentReplicas: current, now } = observation;
  const depth = ready + (unacked ?? 0);
  const busy = depth > 0 || unacked === undefined;
  // A fresh controller knows nothing of the past: it counts the cooldown from its first look and
  // treats the current replicas as a recommendation already in the window, so a restart never
  // scales down at once.
  const lastBusyAt = busy ? now : (previous?.lastBusyAt ?? now);
  const seeded: readonly WindowEntry[] = previous?.window ?? [{ at: now, replicas: current, seeded: true }];

  const cooledDown = !busy && now - lastBusyAt >= policy.cooldownSeconds * 1000;
  const active = current > 0 ? !cooledDown : depth > policy.activationMessages;

  const rawReplicas = replicasFor(depth, policy.messagesPerReplica);
  const down = replicasForScaleDown(depth, policy.messagesPerReplica, policy.tolerance);
  const candidate = !active ? 0 : rawReplicas >= current ? rawReplicas : Math.min(current, down);
  const floor = active ? Math.max(policy.minReplicas, 1) : policy.minReplicas;
  const recommendation = clamp(candidate, floor, policy.maxReplicas);
  const limitedBy: Limit = rawReplicas > policy.maxReplicas ? 'max' : rawReplicas < policy.minReplicas ? 'min' : undefined;

  const upWindowMs = (policy.behavior?.scaleUp?.stabilizationWindowSeconds ?? 0) * 1000;
  const downSeconds = policy.behavior?.scaleDown?.stabilizationWindowSeconds ?? policy.scaleDownStabilizationSeconds;
  const downWindowMs = downSeconds * 1000;
  const keepMs = Math.max(upWindowMs, downWindowMs);
  const fresh: WindowEntry = { at: now, replicas: recommendation };
  const window = [...seeded.filter((entry) => now - entry.at < keepMs), fresh];
  const upWindow = [...seeded.filter((e) => !e.seeded && now - e.at < upWindowMs), fresh];
  const downWindow = [...seeded.filter((e) => now - e.at < downWindowMs), fresh];

  let desired: number;
  let reason: string;
  if (recommendation >= current) {
    // The lowest recommendation of the scale-up window wins (none: this one), never below current.
    const lowest = Math.min(...upWindow.map((e) => e.replicas));
    desired = Math.max(current, lowest);
    reason =
      recommendation === current
        ? 'steady'
        : desired < recommendation
          ? `scale up to ${recommendation} held at ${desired} by the ${upWindowMs / 1000} s scale-up stabilization window`
          : recommendation > rawReplicas
            ? `scale up to ${recommendation}: ${policy.minReplicas >= recommendation ? 'minReplicas' : 'one replica while active'} (${depth} messages need ${rawReplicas})`
            : `scale up: ${depth} messages need ${rawReplicas}`;
  } else if (recommendation === 0) {
    // The cooldown is the stabilization of the last step: the queue has been empty, with nothing
    // unacked, for cooldownSeconds, so no worker holds work.
    desired = 0;
    reason = `idle for ${policy.cooldownSeconds} s: scale to zero`;
  } else {
    const highest = Math.max(...downWindow.map((e) => e.replicas));
    desired = Math.min(current, highest);
    reason =
      desired < current
        ? `scale down: ${depth} messages need ${recommendation}`
        : `scale down to ${recommendation} held by the ${downSeconds} s stabilization window`;
  }
  const horizonMs = eventHorizonMs(policy.behavior);
  const events = (previous?.events ?? []).filter((e) => now - e.at < horizonMs);
  const rate = limitRate(policy.behavior, current, desired, events, now);
  if (rate.limited) reason = `${reason}; ${rate.limited} policies allow ${rate.replicas} now`;
  desired = clamp(rate.replicas, policy.minReplicas, policy.maxReplicas);
  if (limitedBy === 'max' && desired === policy.maxReplicas) reason = `${reason} (capped at maxReplicas ${policy.maxReplicas})`;
  // Recorded as decided: a scale that then fails counts against the rate, which errs on the slow side.
  const state: ScalingState = { window, lastBusyAt, events: desired === current ? events : [...events, { at: now, change: desired - current }] };

  return { desiredReplicas: desired, recommendation, rawReplicas, depth, active, limitedBy, rateLimited: rate.limited, reason, state };
}
