/**
 * Reports one QueueScaler to the API server: its status through the status subresource (a merge
 * patch, written only when it changed) and Kubernetes Events on the QueueScaler. Custom resources
 * accept no strategic merge patch, and the client's default patch type is JSON Patch, so the
 * content type is set explicitly.
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { QUEUE_SCALER_GROUP, QUEUE_SCALER_KIND, QUEUE_SCALER_PLURAL, QUEUE_SCALER_VERSION, type QueueScalerStatus } from '../queue-scaler.js';
import type { ScalerEvent, StatusSink } from '../scaler-loop.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Status fields that may disappear: a merge patch removes a field only when it says null. */
const OPTIONAL_FIELDS = ['queueDepth', 'readyMessages', 'unackedMessages', 'currentReplicas', 'desiredReplicas', 'lastScaleTime'] as const;

export interface ScalerIdentity {
  namespace: string;
  name: string;
  uid?: string;
}

export class KubernetesStatusSink implements StatusSink {
  private readonly objects: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private lastWritten: string | undefined;

  constructor(
    kubeConfig: KubeConfig,
    private readonly scaler: ScalerIdentity,
    private readonly instance: string,
  ) {
    this.objects = kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async write(status: QueueScalerStatus): Promise<void> {
    const body: Record<string, unknown> = { ...status };
    for (const field of OPTIONAL_FIELDS) if (body[field] === undefined) body[field] = null;
    const serialized = JSON.stringify(body);
    if (serialized === this.lastWritten) return;
    await this.objects.patchNamespacedCustomObjectStatus(
      {
        group: QUEUE_SCALER_GROUP,
        version: QUEUE_SCALER_VERSION,
        plural: QUEUE_SCALER_PLURAL,
        namespace: this.scaler.namespace,
        name: this.scaler.name,
        body: { status: body },
      },
      MERGE_PATCH,
    );
    this.lastWritten = serialized;
  }

  async event(event: ScalerEvent): Promise<void> {
    const now = new Date();
    await this.core.createNamespacedEvent({
      namespace: this.scaler.namespace,
      body: {
        metadata: { name: `${this.scaler.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`, namespace: this.scaler.namespace },
        involvedObject: {
          apiVersion: `${QUEUE_SCALER_GROUP}/${QUEUE_SCALER_VERSION}`,
          kind: QUEUE_SCALER_KIND,
          name: this.scaler.name,
          namespace: this.scaler.namespace,
          ...(this.scaler.uid ? { uid: this.scaler.uid } : {}),
        },
        type: event.type,
        reason: event.reason,
        message: event.message.slice(0, 1024),
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        source: { component: 'nws-watermark-controller' },
        reportingComponent: 'nws-watermark-controller',
        reportingInstance: this.instance,
      },
    });
  }
}
