/**
 * The depth source the controller uses: asks the management API and AMQP at once and keeps the
 * best of each. Ready comes from AMQP when it answers (live: a backlog is seen at the next poll,
 * not one statistics interval later); unacked comes from the management API. When the management
 * API is down, unacked is unknown (the status says so and the scaler will not go to zero); when
 * both fail, the read fails and the replicas stay as they are.
 */
import type { DepthSource, QueueDepth, QueueRef } from './depth-source.js';

export class CombinedDepth implements DepthSource {
  constructor(
    private readonly management: DepthSource,
    private readonly amqp: DepthSource,
  ) {}

  async read(ref: QueueRef): Promise<QueueDepth> {
    const [http, live] = await Promise.allSettled([this.management.read(ref), this.amqp.read(ref)]);
    if (http.status === 'fulfilled' && live.status === 'fulfilled') {
      return {
        ready: live.value.ready,
        unacked: http.value.unacked,
        consumers: live.value.consumers ?? http.value.consumers,
        source: 'AMQP (ready) + management API (unacked)',
      };
    }
    if (http.status === 'fulfilled') return http.value;
    if (live.status === 'fulfilled') return live.value;
    const reason = (r: PromiseRejectedResult) => (r.reason instanceof Error ? r.reason.message : String(r.reason));
    throw new Error(`management API: ${reason(http as PromiseRejectedResult)}; AMQP: ${reason(live as PromiseRejectedResult)}`);
  }

  async close(): Promise<void> {
    await Promise.all([this.management.close(), this.amqp.close()]);
  }
}
