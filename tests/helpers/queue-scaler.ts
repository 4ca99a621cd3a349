/** A QueueScaler file for the local controller, as the tests and the bench write one: the worker on the work queue. */
import { stringify } from 'yaml';
import { RETRY_QUEUE } from '../../src/shared/broker/topology.js';
import { QUEUE_SCALER_GROUP, QUEUE_SCALER_KIND, QUEUE_SCALER_VERSION } from '../../src/controller/queue-scaler.js';

export function queueScalerSpec(name: string, spec: Record<string, number | string>): string {
  return stringify({
    apiVersion: `${QUEUE_SCALER_GROUP}/${QUEUE_SCALER_VERSION}`,
    kind: QUEUE_SCALER_KIND,
    metadata: { name },
    spec: { scaleTargetRef: { name: 'nws-watermark-worker' }, queue: RETRY_QUEUE, ...spec },
  });
}
