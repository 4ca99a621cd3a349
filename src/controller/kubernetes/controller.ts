/**
 * The controller in Kubernetes: watches QueueScalers, and while this replica holds the lease,
 * runs one ScalerLoop per QueueScaler against its target's /scale subresource, reporting to the
 * QueueScaler's status and Events. A replica that is not the leader keeps its cache warm and
 * does nothing else.
 */
import { AppsV1Api, CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import type { ControllerConfig } from '../../shared/config.js';
import type { Logger } from '../../shared/logger.js';
import { SCALER_ERROR_REASONS, type ScalerMetrics } from '../../shared/metrics.js';
import type { DepthSource } from '../depth/depth-source.js';
import type { ControllerMode } from '../controller-mode.js';
import type { BacklogSignals } from '../events/backlog-signals.js';
import type { InvalidSpec, Scaler, ScalerMetadata } from '../queue-scaler.js';
import { ScalerLoop } from '../scaler-loop.js';
import { KubernetesScaleTarget } from '../targets/kubernetes-scale.js';
import { LeaseElector } from './leader-election.js';
import { QueueScalerInformer } from './queue-scaler-informer.js';
import { KubernetesStatusSink } from './status-sink.js';

/** Starts the informer and the lease election; the loops run while this replica leads. */
export async function kubernetesMode(
  config: ControllerConfig,
  deps: { logger: Logger; metrics: ScalerMetrics; depth: DepthSource; backlog?: BacklogSignals; kubeConfig?: KubeConfig },
): Promise<ControllerMode> {
  const { logger, metrics, depth } = deps;
  const kubeConfig = deps.kubeConfig ?? new KubeConfig();
  if (!deps.kubeConfig) kubeConfig.loadFromDefault();
  // One client (and its connections) for every scale target of every pass.
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const identity = config.POD_NAME || `${hostname()}-${process.pid}`;
  const known = new Map<string, Scaler | InvalidSpec>();
  const loops = new Map<string, ScalerLoop>();
  let leading = false;

  const keyOf = (metadata: ScalerMetadata) => `${metadata.namespace ?? 'default'}/${metadata.name}`;

  const ensureLoop = (scaler: Scaler | InvalidSpec) => {
    const key = keyOf(scaler.metadata);
    const running = loops.get(key);
    if (running) {
      running.update(scaler);
      return;
    }
    const namespace = scaler.metadata.namespace ?? 'default';
    const loop = new ScalerLoop(
      {
        name: key,
        depth,
        makeTarget: (spec) => new KubernetesScaleTarget(apps, namespace, spec.scaleTargetRef),
        sink: new KubernetesStatusSink(kubeConfig, { namespace, name: scaler.metadata.name, uid: scaler.metadata.uid }, identity),
        metrics,
        logger: logger.child({ scaler: key }),
        tolerance: config.SCALER_TOLERANCE,
        ...(deps.backlog ? { backlog: deps.backlog } : {}),
      },
      scaler,
    );
    loops.set(key, loop);
    loop.start();
  };

  const stopLoop = async (key: string) => {
    const loop = loops.get(key);
    loops.delete(key);
    await loop?.stop();
    metrics.desiredReplicas.remove({ scaler: key });
    metrics.currentReplicas.remove({ scaler: key });
    metrics.minReplicas.remove({ scaler: key });
    metrics.maxReplicas.remove({ scaler: key });
    for (const reason of SCALER_ERROR_REASONS) metrics.errors.remove({ scaler: key, reason });
  };

  const informer = new QueueScalerInformer(
    kubeConfig,
    config.WATCH_NAMESPACE,
    {
      upsert: (scaler) => {
        known.set(keyOf(scaler.metadata), scaler);
        if (leading) ensureLoop(scaler);
      },
      remove: (metadata) => {
        known.delete(keyOf(metadata));
        void stopLoop(keyOf(metadata));
      },
    },
    logger,
  );

  const elector = new LeaseElector(
    kubeConfig.makeApiClient(CoordinationV1Api),
    {
      namespace: config.LEASE_NAMESPACE,
      name: config.LEASE_NAME,
      identity,
      leaseDurationSeconds: config.LEASE_DURATION_SECONDS,
      renewSeconds: config.LEASE_RENEW_SECONDS,
    },
    {
      onStartedLeading: () => {
        leading = true;
        for (const scaler of known.values()) ensureLoop(scaler);
      },
      onStoppedLeading: () => {
        leading = false;
        for (const key of [...loops.keys()]) void stopLoop(key);
      },
    },
    logger,
  );

  await informer.start();
  elector.start();

  return {
    scalers: () => ({
      leader: leading,
      scalers: Object.fromEntries([...loops.entries()].map(([key, loop]) => [key, { spec: loop.currentSpec, status: loop.currentStatus }])),
    }),
    readiness: () => ({ 'QueueScaler cache': informer.synced }),
    async stop() {
      await informer.stop();
      await Promise.all([...loops.keys()].map((key) => stopLoop(key)));
      await elector.stop();
    },
  };
}
