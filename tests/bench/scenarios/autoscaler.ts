/**
 * Scenario 5: the controller in local mode (QueueScaler file, worker processes) at its default
 * polling interval; a backlog appears at once, and the clock runs to the scale decision
 * (watermark_scaler_desired_replicas) and to the new workers consuming (the queue's consumer count).
 */
import { RETRY_QUEUE } from '../../../src/shared/broker/topology.js';
import type { CorpusImage } from '../corpus.js';
import type { BenchWorld } from '../world.js';
import { enqueueJobs, storeOriginals } from '../../helpers/jobs.js';

export interface AutoscalerResult {
  pollingIntervalS: number;
  backlog: number;
  desired: number;
  toDecisionS: number;
  toConsumingS: number;
}

const POLLING_S = 5; // the CRD's default pollingIntervalSeconds

export async function autoscaler(world: BenchWorld, image: CorpusImage, opts: { backlog: number; log: (s: string) => void }): Promise<AutoscalerResult> {
  const controller = await world.startController(
    [
      'apiVersion: watermark.nws.io/v1alpha1',
      'kind: QueueScaler',
      'metadata: {name: bench}',
      'spec:',
      '  scaleTargetRef: {name: nws-watermark-worker}',
      `  queue: ${RETRY_QUEUE}`,
      '  minReplicas: 1',
      '  maxReplicas: 4',
      '  messagesPerReplica: 10',
      `  pollingIntervalSeconds: ${POLLING_S}`,
      '  scaleDownStabilizationSeconds: 30',
      '  cooldownSeconds: 60',
      '',
    ].join('\n'),
  );
  const desired = async () => {
    const text = await fetch(`${controller.url}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const m = /^watermark_scaler_desired_replicas\{[^}]*scaler="bench"[^}]*\} (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  };
  const until = async (check: () => Promise<boolean>, timeoutMs: number, what: string) => {
    const deadline = performance.now() + timeoutMs;
    while (!(await check())) {
      if (performance.now() > deadline)
        throw new Error(`autoscaler: timed out waiting for ${what}; controller output:\n${controller.child.output.join('').slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return performance.now();
  };
  try {
    await until(async () => (await world.consumers(RETRY_QUEUE)) === 1, 30_000, 'minReplicas: one worker consuming');
    const hashes = await storeOriginals(world.store, image.data, opts.backlog);
    await enqueueJobs(world.broker, hashes, 'bench.jpg');
    const backlogAt = performance.now();
    const decidedAt = await until(async () => (await desired()) > 1, 30_000, 'a scale-up decision');
    const target = await desired();
    const consumingAt = await until(async () => (await world.consumers(RETRY_QUEUE)) >= target, 60_000, `${target} workers consuming`);
    const result = {
      pollingIntervalS: POLLING_S,
      backlog: opts.backlog,
      desired: target,
      toDecisionS: (decidedAt - backlogAt) / 1000,
      toConsumingS: (consumingAt - backlogAt) / 1000,
    };
    opts.log(
      `  backlog of ${opts.backlog}: decision (${target} replicas) after ${result.toDecisionS.toFixed(2)} s, consuming after ${result.toConsumingS.toFixed(2)} s (polling ${POLLING_S} s)`,
    );
    return result;
  } finally {
    await world.stop('controller');
    await world.purge(RETRY_QUEUE);
  }
}
