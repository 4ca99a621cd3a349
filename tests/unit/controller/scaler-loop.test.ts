/**
 * ScalerLoop with small fakes of what it is given (the depth source, the scale target, the status
 * sink) and fake timers: the branches the integration tests cannot reach on purpose or reach only
 * by racing a real broker. Each pass is driven through the loop's public face (start, update,
 * stop) and observed through what it writes: the status, the events, the target's replicas.
 */
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DepthSource, QueueDepth, QueueRef } from '../../../src/controller/depth/depth-source.js';
import {
  isInvalidSpec,
  PAUSED_REPLICAS_ANNOTATION,
  parseScaler,
  type InvalidSpec,
  type QueueScalerStatus,
  type Scaler,
} from '../../../src/controller/queue-scaler.js';
import type { BacklogSignals } from '../../../src/controller/events/backlog-signals.js';
import { BACKLOG_NUDGE_MIN_MS, ScalerLoop, type ScalerEvent, type StatusSink } from '../../../src/controller/scaler-loop.js';
import { TargetForbiddenError, TargetNotFoundError, type ScaleReading, type ScaleTarget } from '../../../src/controller/targets/scale-target.js';
import { createLogger } from '../../../src/shared/logger.js';
import { scalerMetrics } from '../../../src/shared/metrics.js';
import { elapse, useFakeClock } from '../../helpers/fake-clock.js';

const POLL_MS = 5_000;
const T0 = '2030-01-01T00:00:00.000Z';

class FakeTarget implements ScaleTarget {
  readonly description = 'fake workers';
  readonly scaled: number[] = [];
  readError: Error | undefined;
  /** Errors the next scale() calls throw, one each. */
  readonly scaleErrors: Error[] = [];

  constructor(public replicas: number) {}

  async read(): Promise<ScaleReading> {
    if (this.readError) throw this.readError;
    return { specReplicas: this.replicas, statusReplicas: this.replicas };
  }

  async scale(replicas: number): Promise<void> {
    const err = this.scaleErrors.shift();
    if (err) throw err;
    this.scaled.push(replicas);
    this.replicas = replicas;
  }
}

class FakeDepth implements DepthSource {
  readonly reads: QueueRef[] = [];
  constructor(public next: QueueDepth | Error) {}
  async read(ref: QueueRef): Promise<QueueDepth> {
    this.reads.push(ref);
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
  async close(): Promise<void> {
    // nothing to release
  }
}

class FakeSink implements StatusSink {
  readonly writes: QueueScalerStatus[] = [];
  readonly events: ScalerEvent[] = [];
  async write(status: QueueScalerStatus): Promise<void> {
    this.writes.push(structuredClone(status));
  }
  async event(event: ScalerEvent): Promise<void> {
    this.events.push(event);
  }
  get last(): QueueScalerStatus {
    const last = this.writes.at(-1);
    if (!last) throw new Error('no status written yet');
    return last;
  }
  condition(type: string) {
    return this.last.conditions.find((c) => c.type === type);
  }
}

const ready = (count: number, unacked = 0): QueueDepth => ({ ready: count, unacked, consumers: 1, source: 'fake' });

function scaler(spec: Record<string, unknown> = {}, generation = 1, status?: QueueScalerStatus, annotations?: Record<string, string>): Scaler {
  const parsed = parseScaler({
    metadata: { name: 'workers', namespace: 'team-a', generation, ...(annotations ? { annotations } : {}) },
    spec: {
      scaleTargetRef: { name: 'worker' },
      queue: 'jobs',
      vhost: 'v',
      messagesPerReplica: 10,
      scaleDownStabilizationSeconds: 0,
      cooldownSeconds: 0,
      ...spec,
    },
    ...(status ? { status } : {}),
  });
  if (isInvalidSpec(parsed)) throw new Error(parsed.message);
  return parsed;
}

interface World {
  loop: ScalerLoop;
  target: FakeTarget;
  depth: FakeDepth;
  sink: FakeSink;
  registry: Registry;
  makeTarget: ReturnType<typeof vi.fn>;
}

const loops: ScalerLoop[] = [];

/** Backlog signals the test sends by hand. */
class FakeBacklog implements BacklogSignals {
  readonly listeners = new Map<string, () => void>();
  watch(ref: QueueRef, listener: () => void): () => void {
    const key = `${ref.vhost}/${ref.queue}`;
    this.listeners.set(key, listener);
    return () => this.listeners.delete(key);
  }
  queued(key: string): void {
    this.listeners.get(key)?.();
  }
  async close(): Promise<void> {
    this.listeners.clear();
  }
}

function world(
  first: Scaler | InvalidSpec,
  options: { replicas?: number; depth?: QueueDepth | Error; makeTargetError?: Error; backlog?: BacklogSignals } = {},
): World {
  const target = new FakeTarget(options.replicas ?? 1);
  const depth = new FakeDepth(options.depth ?? ready(0));
  const sink = new FakeSink();
  const registry = new Registry();
  const makeTarget = vi.fn((): ScaleTarget => {
    if (options.makeTargetError) throw options.makeTargetError;
    return target;
  });
  const loop = new ScalerLoop(
    {
      name: 'team-a/workers',
      depth,
      makeTarget,
      sink,
      metrics: scalerMetrics(registry),
      logger: createLogger('test', 'silent'),
      tolerance: 0.1,
      ...(options.backlog ? { backlog: options.backlog } : {}),
    },
    first,
  );
  loops.push(loop);
  return { loop, target, depth, sink, registry, makeTarget };
}

async function metric(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const found = await registry.getSingleMetric(name)?.get();
  return found?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
}

beforeEach(() => useFakeClock(T0));
afterEach(async () => {
  await Promise.all(loops.splice(0).map((loop) => loop.stop()));
  vi.useRealTimers();
});

describe('ScalerLoop', () => {
  it('scales the target to the depth, reports Ready, and records a ScaledUp event', async () => {
    const w = world(scaler(), { replicas: 1, depth: ready(45) });
    w.loop.start();
    await elapse(0);
    expect(w.target.scaled).toEqual([5]);
    expect(w.depth.reads).toEqual([{ vhost: 'v', queue: 'jobs' }]);
    // currentReplicas is what the pass read before it scaled, as the HPA reports it.
    expect(w.sink.last).toMatchObject({ queueDepth: 45, readyMessages: 45, unackedMessages: 0, currentReplicas: 1, desiredReplicas: 5, observedGeneration: 1 });
    expect(w.sink.last.lastScaleTime).toBe(T0);
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'True', reason: 'ScalerReady', observedGeneration: 1 });
    expect(w.sink.events).toEqual([
      { type: 'Normal', reason: 'ScaledUp', message: expect.stringContaining('fake workers: 1 → 5 replicas (45 ready, 0 unacked') },
    ]);
    expect(await metric(w.registry, 'watermark_scaler_desired_replicas', { scaler: 'team-a/workers' })).toBe(5);
    expect(await metric(w.registry, 'watermark_scaler_scaling_events_total', { direction: 'up' })).toBe(1);
  });

  it('reads the world at every pass: replicas changed by someone else are corrected at the next poll', async () => {
    const w = world(scaler(), { replicas: 1, depth: ready(45) });
    w.loop.start();
    await elapse(0);
    w.target.replicas = 2; // `kubectl scale` in between
    await elapse(POLL_MS - 1);
    expect(w.target.scaled).toEqual([5]);
    await elapse(1);
    expect(w.target.scaled).toEqual([5, 5]);
    expect(w.sink.events.at(-1)?.message).toContain('2 → 5 replicas');
    // The target is asked for at each pass, from the spec as it is then.
    expect(w.makeTarget).toHaveBeenCalledTimes(2);
  });

  describe('when the queue cannot be read', () => {
    it('keeps the replicas (never to zero on an error) and turns Ready false, warning once', async () => {
      const w = world(scaler({ minReplicas: 0 }), { replicas: 3, depth: new Error('connect ECONNREFUSED 127.0.0.1:5672') });
      w.loop.start();
      await elapse(0);
      await elapse(POLL_MS);
      expect(w.depth.reads).toHaveLength(2);
      expect(w.target.scaled).toEqual([]);
      expect(w.target.replicas).toBe(3);
      expect(w.sink.last).toMatchObject({ currentReplicas: 3, desiredReplicas: 3 });
      expect(w.sink.condition('Ready')).toMatchObject({ status: 'False', reason: 'QueueUnreadable' });
      expect(w.sink.condition('Ready')?.message).toContain('connect ECONNREFUSED 127.0.0.1:5672');
      expect(w.sink.condition('Ready')?.message).toContain('keeping 3 replicas');
      // One Warning for the transition, not one a poll.
      expect(w.sink.events).toEqual([{ type: 'Warning', reason: 'QueueUnreadable', message: expect.stringContaining('keeping 3 replicas') }]);
      expect(await metric(w.registry, 'watermark_scaler_errors_total', { reason: 'depth_unavailable' })).toBe(2);
    });

    it('still applies the spec bounds, and leaves the depth it last read in the status', async () => {
      const w = world(scaler({ maxReplicas: 10 }), { replicas: 9, depth: ready(95) });
      w.loop.start();
      await elapse(0);
      expect(w.target.scaled).toEqual([10]);
      w.depth.next = new Error('management API: down; AMQP: down');
      w.loop.update(scaler({ maxReplicas: 4 }, 2));
      await elapse(0);
      expect(w.target.scaled).toEqual([10, 4]);
      expect(w.sink.last).toMatchObject({ queueDepth: 95, desiredReplicas: 4, observedGeneration: 2 });
      expect(w.sink.condition('Ready')).toMatchObject({ reason: 'QueueUnreadable', observedGeneration: 2 });
    });
  });

  it('says why unacked is unknown, and does not scale to zero on an unknown count', async () => {
    const answered = 'the management API answered 404 for queue "jobs" in vhost "v": its statistics may not have caught up yet, or the queue does not exist';
    const depth: QueueDepth = { ready: 0, unacked: undefined, unackedUnknown: answered, consumers: 1, source: 'AMQP passive declare' };
    const w = world(scaler({ minReplicas: 0 }), { replicas: 2, depth });
    w.loop.start();
    await elapse(0);
    await elapse(POLL_MS);
    expect(w.target.replicas).toBe(1);
    expect(w.sink.last).not.toHaveProperty('unackedMessages');
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'True', reason: 'UnackedUnknown' });
    expect(w.sink.condition('Ready')?.message).toContain(answered);
  });

  it('applies a new generation at once, and waits for the poll on the same one', async () => {
    const w = world(scaler({ maxReplicas: 10 }), { replicas: 1, depth: ready(75) });
    w.loop.start();
    await elapse(0);
    expect(w.target.scaled).toEqual([8]);
    w.loop.update(scaler({ maxReplicas: 6 }, 2));
    await elapse(0);
    expect(w.target.scaled).toEqual([8, 6]);
    expect(w.sink.last.observedGeneration).toBe(2);
    expect(w.sink.condition('ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooManyReplicas', observedGeneration: 2 });
    expect(w.loop.currentSpec?.maxReplicas).toBe(6);
    // A watch event for the status the loop wrote carries the same generation: no extra pass.
    const writes = w.sink.writes.length;
    w.loop.update(scaler({ maxReplicas: 6 }, 2));
    await elapse(0);
    expect(w.sink.writes).toHaveLength(writes);
  });

  it('reports an invalid spec without touching the target or the queue, and runs once it is fixed', async () => {
    const invalid = parseScaler({
      metadata: { name: 'workers', generation: 1 },
      spec: { scaleTargetRef: { name: 'worker' }, queue: 'jobs', messagesPerReplica: 0 },
    });
    expect(isInvalidSpec(invalid)).toBe(true);
    const w = world(invalid, { replicas: 2, depth: ready(45) });
    w.loop.start();
    await elapse(0);
    expect(w.makeTarget).not.toHaveBeenCalled();
    expect(w.depth.reads).toEqual([]);
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(w.sink.condition('Ready')?.message).toMatch(/^invalid QueueScaler spec: spec\.messagesPerReplica: .*received 0/);
    expect(w.loop.currentSpec).toBeUndefined();
    expect(await metric(w.registry, 'watermark_scaler_errors_total', { reason: 'invalid_spec' })).toBe(1);
    w.loop.update(scaler({}, 2));
    await elapse(0);
    expect(w.target.scaled).toEqual([5]);
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'True', observedGeneration: 2 });
  });

  it('reports a missing target as TargetNotFound, reading no queue and scaling nothing', async () => {
    const w = world(scaler(), { depth: ready(45) });
    w.target.readError = new TargetNotFoundError('deployment/nope in namespace team-a not found (scaleTargetRef.name "nope")');
    w.loop.start();
    await elapse(0);
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'False', reason: 'TargetNotFound', message: expect.stringContaining('deployment/nope') });
    expect(w.depth.reads).toEqual([]);
    expect(w.target.scaled).toEqual([]);
    expect(w.sink.events).toEqual([{ type: 'Warning', reason: 'TargetNotFound', message: expect.any(String) }]);
  });

  it('reports a target reference it cannot serve as TargetUnavailable', async () => {
    const w = world(scaler(), { makeTargetError: new Error('scaleTargetRef apps/v1 CronJob is not supported') });
    w.loop.start();
    await elapse(0);
    expect(w.sink.condition('Ready')).toMatchObject({
      status: 'False',
      reason: 'TargetUnavailable',
      message: 'scaleTargetRef apps/v1 CronJob is not supported',
    });
    expect(w.depth.reads).toEqual([]);
  });

  it('reports a scale that conflicts as TargetUnavailable, and scales at the next poll', async () => {
    const w = world(scaler(), { replicas: 1, depth: ready(45) });
    w.target.scaleErrors.push(Object.assign(new Error('the object has been modified; please apply your changes to the latest version'), { code: 409 }));
    w.loop.start();
    await elapse(0);
    expect(w.target.replicas).toBe(1);
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'False', reason: 'TargetUnavailable', message: expect.stringContaining('has been modified') });
    expect(w.sink.last).not.toHaveProperty('lastScaleTime');
    expect(w.sink.events.map((e) => e.reason)).toEqual(['TargetUnavailable']);
    await elapse(POLL_MS);
    expect(w.target.scaled).toEqual([5]);
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'True', reason: 'ScalerReady' });
    expect(w.sink.events.map((e) => e.reason)).toEqual(['TargetUnavailable', 'ScaledUp']);
  });

  it('names the missing permission when a scale is forbidden', async () => {
    const w = world(scaler(), { replicas: 1, depth: ready(45) });
    w.target.scaleErrors.push(new TargetForbiddenError('patch deployments/scale (API group apps) in namespace team-a', 'the API server answered 403'));
    w.loop.start();
    await elapse(0);
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'False', reason: 'Forbidden' });
    expect(w.sink.condition('Ready')?.message).toContain('patch deployments/scale (API group apps) in namespace team-a');
  });

  it('keeps the transition times of the status it was created with (a controller restart)', async () => {
    const previous: QueueScalerStatus = {
      conditions: [{ type: 'Ready', status: 'True', reason: 'ScalerReady', message: 'steady', lastTransitionTime: '2020-01-01T00:00:00.000Z' }],
    };
    const w = world(scaler({}, 1, previous), { replicas: 5, depth: ready(45) });
    w.loop.start();
    await elapse(0);
    expect(w.target.scaled).toEqual([]);
    expect(w.sink.condition('Ready')).toMatchObject({ status: 'True', lastTransitionTime: '2020-01-01T00:00:00.000Z' });
  });

  it('runs no pass after stop', async () => {
    const w = world(scaler(), { replicas: 1, depth: ready(45) });
    w.loop.start();
    await elapse(0);
    await w.loop.stop();
    w.loop.update(scaler({}, 2));
    await elapse(POLL_MS * 3);
    expect(w.depth.reads).toHaveLength(1);
  });

  describe('safety catches', () => {
    it('scales to the fallback replicas after failureThreshold failed reads in a row, and says so', async () => {
      const w = world(scaler({ fallback: { failureThreshold: 2, replicas: 4 } }), { replicas: 1, depth: new Error('management API: down; AMQP: down') });
      w.loop.start();
      await elapse(0);
      expect(w.target.scaled).toEqual([]);
      expect(w.sink.condition('Fallback')).toMatchObject({ status: 'False', reason: 'BelowThreshold' });
      await elapse(POLL_MS);
      expect(w.target.scaled).toEqual([4]);
      expect(w.sink.condition('Fallback')).toMatchObject({ status: 'True', reason: 'FallbackActive' });
      expect(w.sink.condition('Fallback')?.message).toContain('2 failed depth reads in a row (failureThreshold 2)');
      expect(w.sink.condition('Ready')).toMatchObject({ status: 'False', reason: 'QueueUnreadable' });
      expect(w.sink.events).toContainEqual({ type: 'Normal', reason: 'ScaledUp', message: expect.stringContaining('1 → 4 replicas (depth unknown; fallback') });
      w.depth.next = ready(15);
      await elapse(POLL_MS);
      expect(w.sink.condition('Fallback')).toMatchObject({ status: 'False', reason: 'QueueReadable' });
    });

    it('without spec.fallback, says failed reads keep the current replicas', async () => {
      const w = world(scaler(), { replicas: 2, depth: new Error('down') });
      w.loop.start();
      await elapse(0);
      expect(w.sink.condition('Fallback')).toMatchObject({ status: 'False', reason: 'NoFallback' });
    });

    it('pauses at the annotation, at once when it is set, and resumes when it is lifted', async () => {
      const w = world(scaler(), { replicas: 1, depth: ready(45) });
      w.loop.start();
      await elapse(0);
      expect(w.target.scaled).toEqual([5]);
      expect(w.sink.condition('Paused')).toMatchObject({ status: 'False', reason: 'NotPaused' });
      // An annotation is no new generation: the pause still applies at once, not at the next poll.
      w.loop.update(scaler({}, 1, undefined, { [PAUSED_REPLICAS_ANNOTATION]: '2' }));
      await elapse(0);
      expect(w.target.scaled).toEqual([5, 2]);
      expect(w.sink.condition('Paused')).toMatchObject({ status: 'True', reason: 'PausedByAnnotation' });
      expect(w.sink.last).toMatchObject({ desiredReplicas: 2, queueDepth: 45 });
      w.depth.next = new Error('down');
      await elapse(POLL_MS);
      expect(w.target.replicas).toBe(2);
      w.depth.next = ready(45);
      w.loop.update(scaler({}, 1));
      await elapse(0);
      expect(w.target.scaled).toEqual([5, 2, 5]);
      expect(w.sink.condition('Paused')).toMatchObject({ status: 'False' });
    });

    it('shows the retry delay queues as retryingMessages without scaling on them', async () => {
      const w = world(scaler(), { replicas: 1, depth: { ...ready(5), retrying: 300 } });
      w.loop.start();
      await elapse(0);
      expect(w.sink.last).toMatchObject({ queueDepth: 5, retryingMessages: 300, desiredReplicas: 1 });
      expect(w.target.scaled).toEqual([]);
    });

    it('holds a scale-up back by spec.behavior and says so in ScalingLimited', async () => {
      const behavior = { scaleUp: { policies: [{ type: 'Pods', value: 2, periodSeconds: 60 }] } };
      const w = world(scaler({ behavior }), { replicas: 1, depth: ready(95) });
      w.loop.start();
      await elapse(0);
      expect(w.target.scaled).toEqual([3]);
      expect(w.sink.condition('ScalingLimited')).toMatchObject({ status: 'True', reason: 'RateLimited' });
    });
  });

  it('reconciles on a backlog signal before the poll, at most once more per interval, and stops following on stop', async () => {
    const backlog = new FakeBacklog();
    const w = world(scaler({ queue: 'watermark_retry', pollingIntervalSeconds: 60, minReplicas: 1 }), { replicas: 1, depth: ready(0), backlog });
    w.loop.start();
    await elapse(0);
    expect(w.depth.reads).toHaveLength(1);
    w.depth.next = ready(45);
    backlog.queued('v/watermark_retry');
    await elapse(0);
    expect(w.depth.reads).toHaveLength(2);
    expect(w.target.scaled).toEqual([5]);
    for (let i = 0; i < 10; i += 1) backlog.queued('v/watermark_retry');
    await elapse(0);
    expect(w.depth.reads).toHaveLength(2);
    // The trailing nudge asks for a pass at once; a 0 ms timer set from a fake timer runs 1 ms later.
    await elapse(BACKLOG_NUDGE_MIN_MS + 1);
    expect(w.depth.reads).toHaveLength(3);
    await w.loop.stop();
    expect(backlog.listeners.size).toBe(0);
  });
});
