/**
 * The reconciler core, the same for Kubernetes and for local worker processes: one loop per
 * QueueScaler that, every pollingIntervalSeconds, reads the target and the queue, asks the pure
 * scaling function for the desired replicas, scales the target when they differ, and reports
 * status, conditions, events and metrics. Level-based: each pass reads the world afresh.
 * When the queue cannot be read, the replicas stay as they are (never to zero on an error).
 */
import type { Logger } from '../shared/logger.js';
import { SCALER_ERROR_REASONS, type ScalerErrorReason, type ScalerMetrics } from '../shared/metrics.js';
import { conditionInputs, mergeConditions, type ReconcileFacts } from './conditions.js';
import type { DepthSource, QueueDepth } from './depth/depth-source.js';
import { isInvalidSpec, type Condition, type InvalidSpec, type QueueScalerSpec, type QueueScalerStatus, type Scaler } from './queue-scaler.js';
import { clamp, decideScale, type ScalingState } from './scaling.js';
import { TargetForbiddenError, TargetNotFoundError, type ScaleReading, type ScaleTarget } from './targets/scale-target.js';

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
  /** Builds the target a spec points at; throws when the reference cannot be served. */
  makeTarget(spec: QueueScalerSpec): ScaleTarget;
  sink: StatusSink;
  metrics: ScalerMetrics;
  logger: Logger;
  tolerance: number;
  clock?: () => number;
}

export interface ReconcileReport {
  facts: ReconcileFacts;
  status: QueueScalerStatus;
  /** Replicas before and after this pass, when the target could be read. */
  from?: number;
  to?: number;
}

export class ScalerLoop {
  private spec: QueueScalerSpec | undefined;
  private specError: string | undefined;
  private generation: number | undefined;
  private target: ScaleTarget | undefined;
  private targetError: Error | undefined;
  private state: ScalingState | undefined;
  private status: QueueScalerStatus;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private rerun = false;
  private readonly clock: () => number;

  constructor(
    private readonly deps: ScalerLoopDependencies,
    scaler: Scaler | InvalidSpec,
  ) {
    this.clock = deps.clock ?? Date.now;
    // Every error series exists at 0 from the start, so increase() sees the first error too.
    for (const reason of SCALER_ERROR_REASONS) deps.metrics.errors.inc({ scaler: deps.name, reason }, 0);
    // Conditions survive a controller restart with their transition times.
    this.status = { ...scaler.status, conditions: scaler.status?.conditions ?? [] };
    this.update(scaler);
  }

  get currentStatus(): QueueScalerStatus {
    return this.status;
  }

  get currentSpec(): QueueScalerSpec | undefined {
    return this.spec;
  }

  /** Applies a (new) parsed QueueScaler; a change of generation reconciles at once. */
  update(scaler: Scaler | InvalidSpec): void {
    const { generation } = scaler.metadata;
    if (generation !== undefined && generation === this.generation && (this.spec || this.specError)) return;
    this.generation = generation;
    const previousRef = JSON.stringify(this.spec?.scaleTargetRef);
    this.spec = isInvalidSpec(scaler) ? undefined : scaler.spec;
    this.specError = isInvalidSpec(scaler) ? scaler.message : undefined;
    if (this.spec && JSON.stringify(this.spec.scaleTargetRef) !== previousRef) {
      try {
        this.target = this.deps.makeTarget(this.spec);
        this.targetError = undefined;
      } catch (err) {
        this.target = undefined;
        this.targetError = err as Error;
      }
    }
    if (!this.stopped) this.schedule(0);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass; exported for tests and for the first pass at start. */
  async reconcile(): Promise<ReconcileReport> {
    const { logger, metrics, name } = this.deps;
    const spec = this.spec;
    if (!spec) return this.report({ kind: 'invalid-spec', message: this.specError ?? 'no spec' });
    if (!this.target) return this.report({ kind: 'target-unavailable', message: this.targetError?.message ?? 'no target' });

    let reading: ScaleReading;
    try {
      reading = await this.target.read();
    } catch (err) {
      return this.report(targetFacts(err));
    }
    metrics.currentReplicas.set({ scaler: name }, reading.statusReplicas);

    let depth: QueueDepth;
    try {
      depth = await this.deps.depth.read({ vhost: spec.vhost, queue: spec.queue });
    } catch (err) {
      // Keep what runs: an unreadable queue is not an empty queue. Only the spec's bounds still
      // apply (as with the HPA): below minReplicas or above maxReplicas is wrong whatever the depth.
      const kept = clamp(reading.specReplicas, spec.minReplicas, spec.maxReplicas);
      metrics.desiredReplicas.set({ scaler: name }, kept);
      this.status = { ...this.status, currentReplicas: reading.statusReplicas, desiredReplicas: kept };
      const facts: ReconcileFacts = { kind: 'depth-unavailable', message: (err as Error).message, currentReplicas: kept };
      if (kept === reading.specReplicas) return this.report(facts);
      try {
        await this.target.scale(kept);
      } catch (scaleErr) {
        return this.report(targetFacts(scaleErr));
      }
      return this.report(facts, reading.specReplicas, kept);
    }
    metrics.queueMessages.set({ queue: spec.queue, state: 'ready' }, depth.ready);
    if (depth.unacked !== undefined) metrics.queueMessages.set({ queue: spec.queue, state: 'unacked' }, depth.unacked);

    const now = this.clock();
    const decision = decideScale(
      { ...spec, tolerance: this.deps.tolerance },
      { ready: depth.ready, unacked: depth.unacked, currentReplicas: reading.specReplicas, now },
      this.state,
    );
    this.state = decision.state;
    const from = reading.specReplicas;
    const to = decision.desiredReplicas;
    metrics.desiredReplicas.set({ scaler: name }, to);
    this.status = {
      ...this.status,
      queueDepth: decision.depth,
      readyMessages: depth.ready,
      unackedMessages: depth.unacked,
      currentReplicas: reading.statusReplicas,
      desiredReplicas: to,
    };
    if (depth.unacked === undefined) delete this.status.unackedMessages;

    if (to !== from) {
      try {
        await this.target.scale(to);
      } catch (err) {
        return this.report(targetFacts(err), from, from);
      }
      const direction = to > from ? 'up' : 'down';
      metrics.scalingEvents.inc({ scaler: name, direction });
      this.status.lastScaleTime = new Date(now).toISOString();
      const unacked = depth.unacked === undefined ? 'unacked unknown' : `${depth.unacked} unacked`;
      const message = `${this.target.description}: ${from} → ${to} replicas (${depth.ready} ready, ${unacked}; ${decision.reason})`;
      logger.info({ from, to, ready: depth.ready, unacked: depth.unacked, source: depth.source, reason: decision.reason }, 'scaled');
      await this.deps.sink.event({ type: 'Normal', reason: direction === 'up' ? 'ScaledUp' : 'ScaledDown', message }).catch((err: Error) =>
        logger.warn({ err: err.message }, 'event not recorded'),
      );
    }
    return this.report(
      {
        kind: 'scaled',
        unackedKnown: depth.unacked !== undefined,
        active: decision.active,
        depth: decision.depth,
        activationMessages: spec.activationMessages,
        limitedBy: decision.limitedBy,
        minReplicas: spec.minReplicas,
        maxReplicas: spec.maxReplicas,
        rawReplicas: decision.rawReplicas,
        reason: decision.reason,
      },
      from,
      to,
    );
  }

  private async report(facts: ReconcileFacts, from?: number, to?: number): Promise<ReconcileReport> {
    const { metrics, name } = this.deps;
    if (this.spec) {
      metrics.minReplicas.set({ scaler: name }, this.spec.minReplicas);
      metrics.maxReplicas.set({ scaler: name }, this.spec.maxReplicas);
    }
    if (facts.kind !== 'scaled') metrics.errors.inc({ scaler: name, reason: errorReason(facts.kind) });
    const before = this.status.conditions.find((c) => c.type === 'Ready');
    const conditions: Condition[] = mergeConditions(
      this.status.conditions,
      conditionInputs(facts),
      new Date(this.clock()).toISOString(),
      this.generation,
    );
    this.status = { ...this.status, conditions, ...(this.generation !== undefined ? { observedGeneration: this.generation } : {}) };
    const ready = conditions.find((c) => c.type === 'Ready');
    if (ready && ready.status !== 'True' && (before?.status !== ready.status || before.reason !== ready.reason)) {
      this.deps.logger.warn({ reason: ready.reason, message: ready.message }, 'scaler not ready');
      await this.deps.sink.event({ type: 'Warning', reason: ready.reason, message: ready.message }).catch(() => undefined);
    }
    await this.deps.sink.write(this.status).catch((err: Error) =>
      this.deps.logger.warn({ err: err.message }, 'status not written'),
    );
    return { facts, status: this.status, ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      // A spec update arrived during a pass: run again right after it.
      this.rerun = true;
      return;
    }
    const pass = this.reconcile().catch((err: unknown) => this.deps.logger.error({ err, scaler: this.deps.name }, 'reconcile failed'));
    this.running = pass;
    await pass;
    this.running = undefined;
    const again = this.rerun;
    this.rerun = false;
    if (!this.stopped) this.schedule(again ? 0 : (this.spec?.pollingIntervalSeconds ?? 5) * 1000);
  }
}

function errorReason(kind: Exclude<ReconcileFacts['kind'], 'scaled'>): ScalerErrorReason {
  return kind.replaceAll('-', '_') as ScalerErrorReason;
}

function targetFacts(err: unknown): ReconcileFacts {
  if (err instanceof TargetNotFoundError) return { kind: 'target-not-found', message: err.message };
  if (err instanceof TargetForbiddenError) return { kind: 'target-forbidden', message: err.message, permission: err.permission };
  return { kind: 'target-unavailable', message: err instanceof Error ? err.message : String(err) };
}
