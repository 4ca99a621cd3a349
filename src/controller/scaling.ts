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
 *   unacked count (AMQP fallback) never counts as "no unacked message".
 */

export interface ScalingPolicy {
  minReplicas: number;
  maxReplicas: number;
  messagesPerReplica: number;
  activationMessages: number;
  scaleDownStabilizationSeconds: number;
  cooldownSeconds: number;
  /** Fraction in [0, 1): how far depth must fall below a boundary before it counts for scale-down. */
  tolerance: number;
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
}

export interface ScalingState {
  window: readonly WindowEntry[];
  /** Last time the queue had work (or its unacked count was unknown). */
  lastBusyAt: number;
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
  const seeded = previous?.window ?? [{ at: now, replicas: current }];

  const cooledDown = !busy && now - lastBusyAt >= policy.cooldownSeconds * 1000;
  const active = current > 0 ? !cooledDown : depth > policy.activationMessages;

  const rawReplicas = replicasFor(depth, policy.messagesPerReplica);
  const down = replicasForScaleDown(depth, policy.messagesPerReplica, policy.tolerance);
  const candidate = !active ? 0 : rawReplicas >= current ? rawReplicas : Math.min(current, down);
  const floor = active ? Math.max(policy.minReplicas, 1) : policy.minReplicas;
  const recommendation = clamp(candidate, floor, policy.maxReplicas);
  const limitedBy: Limit = rawReplicas > policy.maxReplicas ? 'max' : rawReplicas < policy.minReplicas ? 'min' : undefined;

  const windowMs = policy.scaleDownStabilizationSeconds * 1000;
  const window = [...seeded.filter((entry) => now - entry.at < windowMs), { at: now, replicas: recommendation }];
  const state: ScalingState = { window, lastBusyAt };

  let desired: number;
  let reason: string;
  if (recommendation >= current) {
    desired = recommendation;
    reason = recommendation > current ? `scale up: ${depth} messages need ${rawReplicas}` : 'steady';
  } else if (recommendation === 0) {
    // The cooldown is the stabilization of the last step: the queue has been empty, with nothing
    // unacked, for cooldownSeconds, so no worker holds work.
    desired = 0;
    reason = `idle for ${policy.cooldownSeconds} s: scale to zero`;
  } else {
    const highest = Math.max(...window.map((entry) => entry.replicas));
    desired = Math.min(current, highest);
    reason =
      desired < current
        ? `scale down: ${depth} messages need ${recommendation}`
        : `scale down to ${recommendation} held by the ${policy.scaleDownStabilizationSeconds} s stabilization window`;
  }
  // A spec edit that moves the bounds applies at once.
  desired = clamp(desired, policy.minReplicas, policy.maxReplicas);
  if (limitedBy === 'max' && desired === policy.maxReplicas) reason = `${reason} (capped at maxReplicas ${policy.maxReplicas})`;

  return { desiredReplicas: desired, recommendation, rawReplicas, depth, active, limitedBy, reason, state };
}
