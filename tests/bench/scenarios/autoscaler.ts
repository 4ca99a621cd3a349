/**
 * Scenario 5: the controller in local mode (QueueScaler file, worker processes) at its default
 * polling interval; a backlog appears at once, and the clock runs to the scale decision
 * (watermark_scaler_desired_replicas) and to the new workers consuming (the queue's consumer count).
 * Twice in the same run, each with a fresh controller: once announced by `job.queued` events, as
 * the api announces every job it queues (the event-driven reconcile), and once put on the queue
 * silently, so that only the poll can see it (the safety net, and what a polling scaler does).
 */
import { EVENTS_EXCHANGE, RETRY_QUEUE } from '../../../src/shared/broker/topology.js';
import type { CorpusImage } from '../corpus.js';
import type { BenchWorld } from '../world.js';
import { announceQueued, enqueueJobs, storeOriginals } from '../../helpers/jobs.js';
import { queueScalerSpec } from '../../helpers/queue-scaler.js';

export interface BacklogReaction {
  desired: number;
  toDecisionS: number;
  toConsumingS: number;
}

export interface AutoscalerResult {
  pollingIntervalS: number;
  backlog: number;
  /** The backlog announced by job.queued events. */
  announced: BacklogReaction;
  /** The same backlog without events: only the poll sees it. */
  polled: BacklogReaction;
}

const POLLING_S = 5; // the CRD's default pollingIntervalSeconds
const SCALER = queueScalerSpec('bench', {
  minReplicas: 1,
  maxReplicas: 4,
  messagesPerReplica: 10,
  pollingIntervalSeconds: POLLING_S,
  scaleDownStabilizationSeconds: 30,
  cooldownSeconds: 60,
});

const MANAGEMENT_URL = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://guest:guest@127.0.0.1:15672';

/** Whether some queue (the controller's feed) is bound to job.queued on the vhost's events exchange. */
async function jobQueuedBound(vhost: string): Promise<boolean> {
  const url = new URL(`/api/exchanges/${encodeURIComponent(vhost)}/${EVENTS_EXCHANGE}/bindings/source`, MANAGEMENT_URL);
  const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
  url.username = '';
  url.password = '';
  const res = await fetch(url, { headers: { authorization: `Basic ${auth}` } }).catch(() => undefined);
  if (!res?.ok) return false;
  const bindings = (await res.json()) as { routing_key?: string }[];
  return bindings.some((b) => b.routing_key === 'job.queued');
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, output: () => string): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`autoscaler: timed out waiting for ${what}; controller output:\n${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now();
}

async function reaction(world: BenchWorld, image: CorpusImage, backlog: number, announce: boolean): Promise<BacklogReaction> {
  const controller = await world.startController(SCALER);
  // The controller's own lines (its workers' are many), and how much its workers did.
  const output = () => {
    const all = controller.child.output.join('');
    const own = all.split('\n').filter((line) => !line.startsWith('[worker-'));
    return `${own.join('\n').slice(-3000)}\n(${all.split('"job done"').length - 1} jobs done by its workers)`;
  };
  const desired = async () => {
    const text = await fetch(`${controller.url}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const m = /^watermark_scaler_desired_replicas\{[^}]*scaler="bench"[^}]*\} (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  };
  try {
    await until(async () => (await world.consumers(RETRY_QUEUE)) === 1, 30_000, 'minReplicas: one worker consuming', output);
    // Its feed must be listening before the backlog, as it is in a running cluster.
    if (announce) await until(() => jobQueuedBound(world.vhost), 30_000, "the controller's job.queued feed", output);
    const hashes = await storeOriginals(world.store, image.data, backlog);
    const resultIds = await enqueueJobs(world.broker, hashes, 'bench.jpg');
    const backlogAt = performance.now();
    if (announce) await announceQueued(world.broker, resultIds);
    const decidedAt = await until(async () => (await desired()) > 1, 30_000, 'a scale-up decision', output);
    const target = await desired();
    const consumingAt = await until(async () => (await world.consumers(RETRY_QUEUE)) >= target, 60_000, `${target} workers consuming`, output);
    return { desired: target, toDecisionS: (decidedAt - backlogAt) / 1000, toConsumingS: (consumingAt - backlogAt) / 1000 };
  } finally {
    await world.stop('controller');
    await world.purge(RETRY_QUEUE);
  }
}

export async function autoscaler(world: BenchWorld, image: CorpusImage, opts: { backlog: number; log: (s: string) => void }): Promise<AutoscalerResult> {
  const announced = await reaction(world, image, opts.backlog, true);
  const polled = await reaction(world, image, opts.backlog, false);
  for (const [how, r] of [
    ['announced by job.queued', announced],
    ['without events (poll only)', polled],
  ] as const) {
    opts.log(
      `  backlog of ${opts.backlog}, ${how}: decision (${r.desired} replicas) after ${r.toDecisionS.toFixed(2)} s, consuming after ${r.toConsumingS.toFixed(2)} s (polling ${POLLING_S} s)`,
    );
  }
  return { pollingIntervalS: POLLING_S, backlog: opts.backlog, announced, polled };
}
