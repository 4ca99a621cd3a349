/**
 * The reconciler core, the same for Kubernetes and for local worker processes: one loop per
 * QueueScaler that, every pollingIntervalSeconds, runs a stateless sync as sample-controller's
 * handler does: it reads the world (the QueueScaler as last observed, the target's replicas, the
 * queue's depth), computes the desired replicas with the pure scaling function, and writes the
 * difference (a scale when they differ; status, conditions, events and metrics).
 * When the queue cannot be read, the replicas stay as they are (never to zero on an error), or,
 * with spec.fallback, go to its replicas after failureThreshold failed reads; a paused scaler is
 * held at its paused-replicas (decision.ts). Between polls, a backlog signal (a `job.queued` event)
 * asks for a pass at once, at most once per BACKLOG_NUDGE_MIN_MS.
 */
import { warnAndContinue, type Logger } from '../shared/logger.js';
import { SCALER_ERROR_REASONS, type ScalerErrorReason, type ScalerMetrics } from '../shared/metrics.js';
import { conditionInputs, mergeConditions, type ReconcileFacts } from './conditions.js';
import type { DepthSource, QueueDepth } from './depth/depth-source.js';
import {
  isInvalidSpec,
  PAUSED_REPLICAS_ANNOTATION,
  SPEC_DEFAULTS,
  type Condition,
  type InvalidSpec,
  type QueueScalerSpec,
  type QueueScalerStatus,
  type Scaler,
} from './queue-scaler.js';
import { decide, type Decision, type DecisionState } from './decision.js';
import type { BacklogSignals } from './events/backlog-signals.js';
import { ReconcileLimiter } from './events/reconcile-limiter.js';
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
  /** Where `job.queued` signals come from; without it the loop only polls. */
  backlog?: BacklogSignals;
  clock?: () => number;
}

/** At most one extra (signal-driven) reconcile per scaler in this long. */
export const BACKLOG_NUDGE_MIN_MS = 500;

/** What a pass decided, before it writes anything. */
interface Plan {
  replicas: number;
  status: QueueScalerStatus;
  facts: ReconcileFacts;
  /** Why a scale to `replicas` is made, for its Event; absent when the replicas are only held. */
  announce?: { reason: string; depth: QueueDepth | undefined };
}

export class ScalerLoop {
  /** The QueueScaler as last observed (the informer's cache, the file): each pass reads it afresh. */
  private observed: Scaler | InvalidSpec;
  /*
   * The loop's memory, kept because no API can give it back:
   * - decisions: the stabilization windows' recent recommendations, the scales made (the rate
   *   policies), when the queue last had work (the cooldown) and the failed reads in a row (the
   *   fallback). They are history, not the world's state: the HPA keeps them in memory too, and a
   *   restarted controller seeds them afresh (scaling.ts), so losing them is safe.
   * - status: the status as this loop last wrote it. The loop is the only writer of the status
   *   subresource, and the informer's copy lags behind its own writes. Conditions keep their
   *   lastTransitionTime from it, and a pass that cannot read the queue leaves the depth it last
   *   read in place.
   */
  private decisions: DecisionState | undefined;
  private status: QueueScalerStatus;
  // Scheduling, sample-controller's work queue: when the next pass runs, and whether one runs now.
  private readonly passes = new PassLoop(
    () => this.sync(this.observed).catch((err: unknown) => this.deps.logger.error({ err, scaler: this.deps.name }, 'reconcile failed')),
    () => pollingSeconds(this.observed) * 1000,
  );
  private readonly clock: () => number;
  private readonly nudges = new ReconcileLimiter(BACKLOG_NUDGE_MIN_MS, () => this.passes.now());
  /** The queue the backlog signals are followed for, and how to stop following it. */
  private followed: { key: string; unwatch: () => void } | undefined;

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
   * Observes the QueueScaler again. A new generation, or a pause set, changed or lifted (an
   * annotation: no new generation), is synced at once; the same one (a watch event for the status
   * this loop wrote) waits for the next poll.
   */
  update(scaler: Scaler | InvalidSpec): void {
    const { generation } = scaler.metadata;
    const changed = generation === undefined || generation !== this.observed.metadata.generation || pausedAt(scaler) !== pausedAt(this.observed);
    this.observed = scaler;
    if (changed) this.passes.now();
  }

  start(): void {
    this.passes.start();
  }

  async stop(): Promise<void> {
    await this.passes.stop();
    // After the last pass: none can follow the queue again behind this.
    this.followed?.unwatch();
    this.followed = undefined;
    this.nudges.cancel();
  }

  /** Follows the backlog signals of the spec's queue (it may change with the spec). */
  private follow(spec: QueueScalerSpec): void {
    const { backlog } = this.deps;
    const key = `${spec.vhost}\u0000${spec.queue}`;
    if (!backlog || this.followed?.key === key) return;
    this.followed?.unwatch();
    this.followed = { key, unwatch: backlog.watch({ vhost: spec.vhost, queue: spec.queue }, () => this.nudges.signal()) };
  }

  /** One pass: read the world, compute, write the difference. */
  private async sync(scaler: Scaler | InvalidSpec): Promise<void> {
    if (isInvalidSpec(scaler)) return this.report(scaler, { kind: 'invalid-spec', message: scaler.message });
    const { spec } = scaler;
    const { metrics, name } = this.deps;
    this.follow(spec);

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
    const decision = decide(
      {
        policy: { ...spec, tolerance: this.deps.tolerance },
        fallback: spec.fallback,
        pausedReplicas: scaler.pausedReplicas,
        depth: 'unavailable' in depth ? depth : { ready: depth.ready, unacked: depth.unacked },
        currentReplicas: reading.specReplicas,
        now,
      },
      this.decisions,
    );
    this.decisions = decision.state;
    const plan = this.plan(spec, reading, depth, decision);
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
      if (plan.announce) await this.announce(target, from, plan.replicas, plan.announce, now);
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

  /** The decision as replicas, status and the facts the conditions are made of. */
  private plan(spec: QueueScalerSpec, reading: ScaleReading, depth: QueueDepth | { unavailable: string }, decision: Decision): Plan {
    const replicas = decision.desiredReplicas;
    const base: QueueScalerStatus = { ...this.status, currentReplicas: reading.statusReplicas, desiredReplicas: replicas };
    // A pass that cannot read the queue leaves the depth it last read in place.
    const status = 'unavailable' in depth ? base : withDepth(base, depth, decision.kind === 'scaled' ? decision.scaling.depth : undefined);
    const read = 'unavailable' in depth ? undefined : depth;
    switch (decision.kind) {
      case 'paused':
        return {
          replicas,
          status,
          facts: { kind: 'paused', replicas },
          announce: { reason: `paused at ${replicas} by the ${PAUSED_REPLICAS_ANNOTATION} annotation`, depth: read },
        };
      case 'hold':
      case 'fallback': {
        const message = 'unavailable' in depth ? depth.unavailable : '';
        const facts: ReconcileFacts = {
          kind: 'depth-unavailable',
          message,
          currentReplicas: replicas,
          failures: decision.failures,
          fallback: spec.fallback,
          fallbackActive: decision.kind === 'fallback',
        };
        if (decision.kind === 'hold') return { replicas, status, facts };
        const reason = `fallback: ${decision.failures} failed depth reads in a row (failureThreshold ${spec.fallback?.failureThreshold ?? 0})`;
        return { replicas, status, facts, announce: { reason, depth: undefined } };
      }
      case 'scaled': {
        const d = decision.scaling;
        const unknown = read && read.unacked === undefined ? { unackedUnknown: read.unackedUnknown } : {};
        return {
          replicas,
          status,
          facts: {
            kind: 'scaled',
            ...unknown,
            active: d.active,
            depth: d.depth,
            activationMessages: spec.activationMessages,
            limitedBy: d.limitedBy,
            rateLimited: d.rateLimited,
            minReplicas: spec.minReplicas,
            maxReplicas: spec.maxReplicas,
            rawReplicas: d.rawReplicas,
            reason: d.reason,
            fallback: spec.fallback,
          },
          announce: { reason: d.reason, depth: read },
        };
      }
    }
  }

  /** A scale the scaler decided: counted, timed in the status, logged, and an Event. */
  private async announce(target: ScaleTarget, from: number, to: number, why: NonNullable<Plan['announce']>, now: number): Promise<void> {
    const { logger, metrics, name } = this.deps;
    const { depth, reason } = why;
    const direction = to > from ? 'up' : 'down';
    metrics.scalingEvents.inc({ scaler: name, direction });
    this.status = { ...this.status, lastScaleTime: new Date(now).toISOString() };
    const unacked = depth?.unacked === undefined ? 'unacked unknown' : `${depth.unacked} unacked`;
    const seen = depth ? `${depth.ready} ready, ${unacked}; ` : 'depth unknown; ';
    const message = `${target.description}: ${from} → ${to} replicas (${seen}${reason})`;
    logger.info({ from, to, ready: depth?.ready, unacked: depth?.unacked, source: depth?.source, reason }, 'scaled');
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

function pausedAt(scaler: Scaler | InvalidSpec): number | string | undefined {
  return isInvalidSpec(scaler) ? scaler.message : scaler.pausedReplicas;
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

/** The status with what this pass read of the queue (and its retry delay queues, when known). */
function withDepth(status: QueueScalerStatus, depth: QueueDepth, queueDepth: number | undefined): QueueScalerStatus {
  const out: QueueScalerStatus = { ...status, queueDepth: queueDepth ?? depth.ready + (depth.unacked ?? 0), readyMessages: depth.ready };
  if (depth.unacked === undefined) delete out.unackedMessages;
  else out.unackedMessages = depth.unacked;
  if (depth.retrying === undefined) delete out.retryingMessages;
  else out.retryingMessages = depth.retrying;
  return out;
}
