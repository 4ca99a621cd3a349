/**
 * How fast the replicas may move, pure: the rate policies of `spec.behavior.scaleUp` and
 * `.scaleDown`, with the HPA's arithmetic (pkg/controller/podautoscaler, `calculateScaleUpLimit…`)
 * so a user who knows the HPA's `behavior` reads ours the same way:
 * - a period's start is the replicas before every scale of the last periodSeconds;
 * - Pods allows start ± value, Percent start × (1 ± value/100) (up rounded up, down truncated);
 * - selectPolicy Max takes the policy allowing the most change, Min the least, Disabled none.
 * One departure: leaving zero is activation, not a rate, so one replica is always allowed from
 * zero (a Percent of nothing would otherwise keep a scaler at zero for ever).
 */

export type SelectPolicy = 'Max' | 'Min' | 'Disabled';

export interface RatePolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  /** Up: the lowest recommendation of the window wins; down: the highest. */
  stabilizationWindowSeconds?: number | undefined;
  selectPolicy: SelectPolicy;
  /** None: no limit on the rate in this direction. */
  policies: readonly RatePolicy[];
}

export interface Behavior {
  scaleUp?: ScalingRules | undefined;
  scaleDown?: ScalingRules | undefined;
}

/** A scale the scaler made: when, and by how many replicas (positive up, negative down). */
export interface ScaleEvent {
  at: number;
  change: number;
}

/** Replicas at the start of the period ending now: the current ones with the period's scales undone. */
function periodStart(current: number, events: readonly ScaleEvent[], periodSeconds: number, now: number): number {
  const since = now - periodSeconds * 1000;
  return events.filter((e) => e.at > since).reduce((replicas, e) => replicas - e.change, current);
}

/** The most replicas the scale-up rules allow now (at least the current ones). */
export function scaleUpLimit(rules: ScalingRules | undefined, current: number, events: readonly ScaleEvent[], now: number): number {
  if (!rules || rules.policies.length === 0) return rules?.selectPolicy === 'Disabled' ? current : Infinity;
  if (rules.selectPolicy === 'Disabled') return current;
  const proposals = rules.policies.map((p) => {
    const start = periodStart(current, events, p.periodSeconds, now);
    return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
  });
  const limit = rules.selectPolicy === 'Min' ? Math.min(...proposals) : Math.max(...proposals);
  return Math.max(limit, current, current === 0 ? 1 : 0);
}

/** The fewest replicas the scale-down rules allow now (at most the current ones). */
export function scaleDownLimit(rules: ScalingRules | undefined, current: number, events: readonly ScaleEvent[], now: number): number {
  if (!rules || rules.policies.length === 0) return rules?.selectPolicy === 'Disabled' ? current : 0;
  if (rules.selectPolicy === 'Disabled') return current;
  const proposals = rules.policies.map((p) => {
    const start = periodStart(current, events, p.periodSeconds, now);
    return p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
  });
  // Max is the policy that allows the most change, here the lowest count.
  const limit = rules.selectPolicy === 'Min' ? Math.max(...proposals) : Math.min(...proposals);
  return Math.max(Math.min(limit, current), 0);
}

/** `desired` within what the rules of its direction allow; `limited` when they held it back. */
export function limitRate(
  behavior: Behavior | undefined,
  current: number,
  desired: number,
  events: readonly ScaleEvent[],
  now: number,
): { replicas: number; limited: 'scaleUp' | 'scaleDown' | undefined } {
  if (desired > current) {
    const limit = scaleUpLimit(behavior?.scaleUp, current, events, now);
    return desired > limit ? { replicas: limit, limited: 'scaleUp' } : { replicas: desired, limited: undefined };
  }
  if (desired < current) {
    const limit = scaleDownLimit(behavior?.scaleDown, current, events, now);
    return desired < limit ? { replicas: limit, limited: 'scaleDown' } : { replicas: desired, limited: undefined };
  }
  return { replicas: desired, limited: undefined };
}

/** How long scale events matter: the longest period of any policy. */
export function eventHorizonMs(behavior: Behavior | undefined): number {
  const periods = [...(behavior?.scaleUp?.policies ?? []), ...(behavior?.scaleDown?.policies ?? [])].map((p) => p.periodSeconds);
  return Math.max(0, ...periods) * 1000;
}
