/**
 * The reconciler core, the same for Kubernetes and for local worker processes: one loop per
 * QueueScaler that, every pollingIntervalSeconds, runs a stateless sync as sample-controller's
 * handler does: it reads the world (the QueueScaler as last observed, the target's replicas, the
 * queue's depth), computes the desired replicas with the pure scaling function, and writes the
 * difference (a scale when they differ; status, conditions, events and metrics).
 * When the queue cannot be read, the replicas stay as they are (never to zero on an error).
 */
import { warnAndContinue, type Logger } from '../shared/logger.js';
import { SCALER_ERROR_REASONS, type ScalerErrorReason, type ScalerMetrics } from '../shared/metrics.js';
import { conditionInputs, mergeConditions, type ReconcileFacts } from './conditions.js';
import type { DepthSource, QueueDepth } from './depth/depth-source.js';
import { isInvalidSpec, SPEC_DEFAULTS, type Condition, type InvalidSpec, type QueueScalerSpec, type QueueScalerStatus, type Scaler } from './queue-scaler.js';
import { clamp, decideScale, type ScalingState } from './scaling.js';
import { TargetForbiddenError, TargetNotFoundError, type ScaleReading, type ScaleTarget } from './targets/scale-target.js';
import { errorMessage } from '../shared/errors.js';
import { PassLoop } from '../shared/pass-loop.js';

export interface ScalerEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Where a loop reports: the status subresource and Events in Kubernetes, logs and an HTTP page locally. */
export interface StatusSink {
  write(status: QueueScalerStatus): Promise<void>;
  event(event: ScalerEvent): Promise<void>;
}

export interface ScalerLoopDependencies {
  /** The `scaler` metric label: namespace/name in Kubernetes, the name locally. */
  name: string;
  depth: DepthSource;
  /**
   * The target the spec points at, asked for at every pass (so a changed scaleTargetRef applies
   * with nothing to invalidate): cheap, holding no state between passes. Throws when the
   * reference cannot be served.
   */
  makeTarget(spec: QueueScalerSpec): ScaleTarget;
  sink: StatusSink;
  metrics: ScalerMetrics;
  logger: Logger;
  tolerance: number;
  clock?: () => number;
}

/** What a pass decided, before it writes anything. */
interface Plan {
  replicas: number;
  status: QueueScalerStatus;
  facts: ReconcileFacts;
  /** The scaling function's decision; absent when the replicas are only held (the queue unreadable). */
  decision?: { reason: string; depth: QueueDepth; scaling: ScalingState };
}

export class ScalerLoop {
  /** The QueueScaler as last observed (the informer's cache, the file): each pass reads it afresh. */
  private observed: Scaler | InvalidSpec;
  /*
   * The loop's memory, kept because no API can give it back:
   * - scaling: the stabilization window's recent recommendations and when the queue last had work
   *   (the cooldown). They are history, not the world's state: the HPA keeps them in memory too,
   *   and a restarted controller seeds them afresh (scaling.ts), so losing them is safe.
   * - status: the status as this loop last wrote it. The loop is the only writer of the status
   *   subresource, and the informer's copy lags behind its own writes. Conditions keep their
   *   lastTransitionTime from it, and a pass that cannot read the queue leaves the depth it last
   *   read in place.
   */
  private scaling: ScalingState | undefined;
  private status: QueueScalerStatus;
  // Scheduling, sample-controller's work queue: when the next pass runs, and whether one runs now.
  private readonly passes = new PassLoop(
    () => this.sync(this.observed).catch((err: unknown) => this.deps.logger.error({ err, scaler: this.deps.name }, 'reconcile failed')),
    () => pollingSeconds(this.observed) * 1000,
  );
  private readonly clock: () => number;

  constructor(
    private readonly deps: ScalerLoopDependencies,
    scaler: Scaler | InvalidSpec,
  ) {
    this.clock = deps.clock ?? Date.now;
    // Every error series exists at 0 from the start, so increase() sees the first error too.
    for (const reason of SCALER_ERROR_REASONS) deps.metrics.errors.inc({ scaler: deps.name, reason }, 0);
    this.observed = scaler;
    // Conditions survive a controller restart with their transition times.
    this.status = { ...scaler.status, conditions: scaler.status?.conditions ?? [] };
  }

  get currentStatus(): QueueScalerStatus {
    return this.status;
  }

  get currentSpec(): QueueScalerSpec | undefined {
    return isInvalidSpec(this.observed) ? undefined : this.observed.spec;
  }

  /**
   * Observes the QueueScaler again. A new generation is synced at once; the same one (a watch
   * event for the status this loop wrote) waits for the next poll.
   */
  update(scaler: Scaler | InvalidSpec): void {
    const { generation } = scaler.metadata;
    const changed = generation === undefined || generation !== this.observed.metadata.generation;
    this.observed = scaler;
    if (changed) this.passes.now();
  }

  start(): void {
    this.passes.start();
  }

  async stop(): Promise<void> {
    await this.passes.stop();
  }

  /** One pass: read the world, compute, write the difference. */
  private async sync(scaler: Scaler | InvalidSpec): Promise<void> {
    if (isInvalidSpec(scaler)) return this.report(scaler, { kind: 'invalid-spec', message: scaler.message });
    const { spec } = scaler;
    const { metrics, name } = this.deps;

    // Read: the target (built from the spec as it is now), its replicas, the queue.
    let target: ScaleTarget;
    let reading: ScaleReading;
    try {
      target = this.deps.makeTarget(spec);
      reading = await target.read();
    } catch (err) {
      return this.report(scaler, targetFacts(err));
    }
    metrics.currentReplicas.set({ scaler: name }, reading.statusReplicas);
    const depth = await this.readDepth(spec);
    if (!('unavailable' in depth)) {
      metrics.queueMessages.set({ queue: spec.queue, state: 'ready' }, depth.ready);
      if (depth.unacked !== undefined) metrics.queueMessages.set({ queue: spec.queue, state: 'unacked' }, depth.unacked);
    }

    // Compute.
    const now = this.clock();
    const plan = 'unavailable' in depth ? this.hold(spec, reading, depth.unavailable) : this.decide(spec, reading, depth, now);
    if (plan.decision) this.scaling = plan.decision.scaling;
    metrics.desiredReplicas.set({ scaler: name }, plan.replicas);
    this.status = plan.status;

    // Write the difference.
    const from = reading.specReplicas;
    if (plan.replicas !== from) {
      try {
        await target.scale(plan.replicas);
      } catch (err) {
        return this.report(scaler, targetFacts(err));
      }
      if (plan.decision) await this.announce(target, from, plan.replicas, plan.decision, now);
    }
    return this.report(scaler, plan.facts);
  }

  private async readDepth(spec: QueueScalerSpec): Promise<QueueDepth | { unavailable: string }> {
    try {
      return await this.deps.depth.read({ vhost: spec.vhost, queue: spec.queue });
    } catch (err) {
      return { unavailable: errorMessage(err) };
    }
  }

  /**
   * Keep what runs: an unreadable queue is not an empty queue. Only the spec's bounds still apply
   * (as with the HPA): below minReplicas or above maxReplicas is wrong whatever the depth.
   */
  private hold(spec: QueueScalerSpec, reading: ScaleReading, message: string): Plan {
    const kept = clamp(reading.specReplicas, spec.minReplicas, spec.maxReplicas);
    return {
      replicas: kept,
      status: { ...this.status, currentReplicas: reading.statusReplicas, desiredReplicas: kept },
      facts: { kind: 'depth-unavailable', message, currentReplicas: kept },
    };
  }

  private decide(spec: QueueScalerSpec, reading: ScaleReading, depth: QueueDepth, now: number): Plan {
    const decision = decideScale(
      { ...spec, tolerance: this.deps.tolerance },
      { ready: depth.ready, unacked: depth.unacked, currentReplicas: reading.specReplicas, now },
      this.scaling,
    );
    const status: QueueScalerStatus = {
      ...this.status,
      queueDepth: decision.depth,
      readyMessages: depth.ready,
      currentReplicas: reading.statusReplicas,
      desiredReplicas: decision.desiredReplicas,
    };
    if (depth.unacked === undefined) delete status.unackedMessages;
    else status.unackedMessages = depth.unacked;
    return {
      replicas: decision.desiredReplicas,
      status,
      facts: {
        kind: 'scaled',
        ...(depth.unacked === undefined ? { unackedUnknown: depth.unackedUnknown } : {}),
        active: decision.active,
        depth: decision.depth,
        activationMessages: spec.activationMessages,
        limitedBy: decision.limitedBy,
        minReplicas: spec.minReplicas,
        maxReplicas: spec.maxReplicas,
        rawReplicas: decision.rawReplicas,
        reason: decision.reason,
      },
      decision: { reason: decision.reason, depth, scaling: decision.state },
    };
  }

  /** A scale the scaler decided: counted, timed in the status, logged, and an Event. */
  private async announce(target: ScaleTarget, from: number, to: number, decision: NonNullable<Plan['decision']>, now: number): Promise<void> {
    const { logger, metrics, name } = this.deps;
    const { depth, reason } = decision;
    const direction = to > from ? 'up' : 'down';
    metrics.scalingEvents.inc({ scaler: name, direction });
    this.status = { ...this.status, lastScaleTime: new Date(now).toISOString() };
    const unacked = depth.unacked === undefined ? 'unacked unknown' : `${depth.unacked} unacked`;
    const message = `${target.description}: ${from} → ${to} replicas (${depth.ready} ready, ${unacked}; ${reason})`;
    logger.info({ from, to, ready: depth.ready, unacked: depth.unacked, source: depth.source, reason }, 'scaled');
    await this.deps.sink
      .event({ type: 'Normal', reason: direction === 'up' ? 'ScaledUp' : 'ScaledDown', message })
      .catch(warnAndContinue(logger, 'event not recorded'));
  }

  /** Conditions from this pass's facts, a Warning when Ready turns bad, and the status written. */
  private async report(scaler: Scaler | InvalidSpec, facts: ReconcileFacts): Promise<void> {
    const { metrics, name } = this.deps;
    const { generation } = scaler.metadata;
    if (!isInvalidSpec(scaler)) {
      metrics.minReplicas.set({ scaler: name }, scaler.spec.minReplicas);
      metrics.maxReplicas.set({ scaler: name }, scaler.spec.maxReplicas);
    }
    if (facts.kind !== 'scaled') metrics.errors.inc({ scaler: name, reason: errorReason(facts.kind) });
    const before = this.status.conditions.find((c) => c.type === 'Ready');
    const conditions: Condition[] = mergeConditions(this.status.conditions, conditionInputs(facts), new Date(this.clock()).toISOString(), generation);
    this.status = { ...this.status, conditions, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
    const ready = conditions.find((c) => c.type === 'Ready');
    if (ready && ready.status !== 'True' && (before?.status !== ready.status || before.reason !== ready.reason)) {
      this.deps.logger.warn({ reason: ready.reason, message: ready.message }, 'scaler not ready');
      await this.deps.sink
        .event({ type: 'Warning', reason: ready.reason, message: ready.message })
        .catch(warnAndContinue(this.deps.logger, 'event not recorded'));
    }
    await this.deps.sink.write(this.status).catch(warnAndContinue(this.deps.logger, 'status not written'));
  }
}

function pollingSeconds(scaler: Scaler | InvalidSpec): number {
  return isInvalidSpec(scaler) ? SPEC_DEFAULTS.pollingIntervalSeconds : scaler.spec.pollingIntervalSeconds;
}

function errorReason(kind: Exclude<ReconcileFacts['kind'], 'scaled'>): ScalerErrorReason {
  return kind.replaceAll('-', '_') as ScalerErrorReason;
}

function targetFacts(err: unknown): ReconcileFacts {
  if (err instanceof TargetNotFoundError) return { kind: 'target-not-found', message: err.message };
  if (err instanceof TargetForbiddenError) return { kind: 'target-forbidden', message: err.message, permission: err.permission };
  return { kind: 'target-unavailable', message: errorMessage(err) };
}
