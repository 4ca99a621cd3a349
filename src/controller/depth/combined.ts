/**
 * The depth source the controller uses: asks the management API and AMQP at once and keeps the
 * best of each. Ready comes from AMQP when it answers (live: a backlog is seen at the next poll,
 * not one statistics interval later); unacked comes from the management API. When the management
 * API fails (down, or a 404 for a queue its statistics do not know yet), unacked is unknown: the
 * status says what the management API answered, and the scaler will not go to zero. When both
 * fail, the read fails and the replicas stay as they are.
 */
import type { DepthSource, QueueDepth, QueueRef } from './depth-source.js';
import { errorMessage } from '../../shared/errors.js';

export class CombinedDepth implements DepthSource {
  constructor(
    private readonly management: DepthSource,
    private readonly amqp: DepthSource,
  ) {}

  async read(ref: QueueRef): Promise<QueueDepth> {
    const [http, live] = await Promise.allSettled([this.management.read(ref), this.amqp.read(ref)]);
    if (http.status === 'fulfilled' && live.status === 'fulfilled') {
      return {
        ...http.value, // unacked, and why it is unknown if it is
        ready: live.value.ready,
        consumers: live.value.consumers ?? http.value.consumers,
        source: 'AMQP (ready) + management API (unacked)',
      };
    }
    if (http.status === 'fulfilled') return http.value;
    const management = reason(http);
    if (live.status === 'fulfilled') {
      const { ready, consumers, source } = live.value;
      return { ready, unacked: undefined, unackedUnknown: management, consumers, source };
    }
    throw new Error(`${management}; AMQP: ${reason(live)}`);
  }

  async close(): Promise<void> {
    await Promise.all([this.management.close(), this.amqp.close()]);
  }
}

function reason(result: PromiseRejectedResult): string {
  return errorMessage(result.reason);
}
