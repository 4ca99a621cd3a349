/**
 * What every queue-depth source offers (KEDA's scaler interface, reduced to what we need): the
 * ready and unacked counts of one queue in one vhost. A source that cannot see unacked messages
 * says so with `unacked: undefined` rather than a zero that would read as "idle", and says why.
 */
export type QueueDepth = {
  ready: number;
  consumers: number | undefined;
  /** Which source produced the numbers, for logs and status. */
  source: string;
  /**
   * Messages in the queue's retry delay queues (`<queue>.delay.<ms>ms`): jobs that failed and wait
   * for their next attempt. Shown, not scaled on. Absent when no source could list them.
   */
  retrying?: number;
} & (
  | { unacked: number }
  | {
      unacked: undefined;
      /** Why unacked is unknown, as the Ready condition says it (what the management API answered, if it did). */
      unackedUnknown: string;
    }
);

export interface QueueRef {
  vhost: string;
  queue: string;
}

export interface DepthSource {
  read(ref: QueueRef): Promise<QueueDepth>;
  close(): Promise<void>;
}

/** The queue does not exist (or the vhost): an error, never a depth of zero. */
export class QueueNotFoundError extends Error {
  /** @param message what the source said, when it says more than "not found" */
  constructor(ref: QueueRef, source: string, message = `queue "${ref.queue}" not found in vhost "${ref.vhost}" (${source})`) {
    super(message);
    this.name = 'QueueNotFoundError';
  }
}
