/**
 * A list-and-watch cache of QueueScalers (the client's informer) that restarts itself: the
 * client's informer stops on any error (a failed list, a watch refused, the API server gone),
 * so it is started again with a growing back-off until a list succeeds. It is the controller's
 * edge: each added or updated QueueScaler is parsed here, once, into a Scaler or an InvalidSpec.
 */
import { CustomObjectsApi, makeInformer, type KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import { backoffDelay } from '../../shared/backoff.js';
import type { Logger } from '../../shared/logger.js';
import {
  parseScaler,
  QUEUE_SCALER_GROUP,
  QUEUE_SCALER_PLURAL,
  QUEUE_SCALER_VERSION,
  type InvalidSpec,
  type QueueScalerObject,
  type Scaler,
  type ScalerMetadata,
} from '../queue-scaler.js';
import { apiMessage } from './api-errors.js';

export interface InformerHandlers {
  upsert(scaler: Scaler | InvalidSpec): void;
  remove(metadata: ScalerMetadata): void;
}

export class QueueScalerInformer {
  private readonly informer;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private listed = false;

  constructor(
    kubeConfig: KubeConfig,
    namespace: string,
    handlers: InformerHandlers,
    private readonly logger: Logger,
    private readonly backoffMs: readonly number[] = [250, 500, 1_000, 2_000, 5_000],
  ) {
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const base = `/apis/${QUEUE_SCALER_GROUP}/${QUEUE_SCALER_VERSION}`;
    const path = namespace ? `${base}/namespaces/${namespace}/${QUEUE_SCALER_PLURAL}` : `${base}/${QUEUE_SCALER_PLURAL}`;
    const list = async (): Promise<KubernetesListObject<QueueScalerObject>> => {
      const params = { group: QUEUE_SCALER_GROUP, version: QUEUE_SCALER_VERSION, plural: QUEUE_SCALER_PLURAL };
      // The generated client types custom object lists as `any`: this is the shape the API returns.
      const result = (
        namespace ? await api.listNamespacedCustomObject({ ...params, namespace }) : await api.listClusterCustomObject(params)
      ) as KubernetesListObject<QueueScalerObject>;
      this.listed = true;
      this.failures = 0;
      return result;
    };
    this.informer = makeInformer<QueueScalerObject>(kubeConfig, path, list);
    this.informer.on('add', (obj) => handlers.upsert(parseScaler(obj)));
    this.informer.on('update', (obj) => handlers.upsert(parseScaler(obj)));
    this.informer.on('delete', (obj) => handlers.remove(obj.metadata));
    this.informer.on('error', (err: unknown) => this.restart(err));
  }

  /** True once a list has succeeded: the cache reflects the cluster. */
  get synced(): boolean {
    return this.listed;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start().catch((err: unknown) => this.restart(err));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  private restart(err: unknown): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.backoffMs, this.failures, 5_000);
    this.failures += 1;
    this.logger.warn({ err: apiMessage(err), retryInMs: delay }, 'QueueScaler watch failed; restarting it');
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) void this.informer.start().catch((e: unknown) => this.restart(e));
    }, delay);
  }
}
