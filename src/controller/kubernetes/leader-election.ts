/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it, so two controller
 * replicas never scale the same workload: the holder renews the lease every renew period; a
 * candidate takes it over only after it has seen the same lease record unchanged for a whole
 * lease duration (measured on its own clock, so clock skew between nodes does not matter).
 * Every write carries the resourceVersion read, so two candidates racing get one 409.
 * A leader that cannot renew steps down before its lease could expire for the others.
 */
import { V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../shared/logger.js';
import { PassLoop } from '../../shared/pass-loop.js';
import { apiMessage, statusCode } from './api-errors.js';

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewSeconds: number;
}

/** The Lease calls the elector makes, as CoordinationV1Api offers them (a test passes a fake). */
export type LeaseApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

export interface LeadershipCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

export class LeaseElector {
  private leading = false;
  private lastRenewAt = 0;
  private observed: { resourceVersion: string | undefined; at: number } | undefined;
  private readonly passes = new PassLoop(
    () => this.campaign(),
    () => this.options.renewSeconds * 1000,
  );

  constructor(
    private readonly api: LeaseApi,
    private readonly options: LeaseOptions,
    private readonly callbacks: LeadershipCallbacks,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.passes.start();
  }

  /** Stops campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    await this.passes.stop();
    if (!this.leading) return;
    this.setLeading(false);
    try {
      const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      await this.api.replaceNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            acquireTime: lease.spec.acquireTime ? new V1MicroTime(lease.spec.acquireTime) : undefined,
            renewTime: new V1MicroTime(),
          },
        },
      });
    } catch (err) {
      this.logger.warn({ err: apiMessage(err) }, 'lease not released; it expires by itself');
    }
  }

  /** One pass: acquire or renew, and step down when the renew deadline has passed. */
  private async campaign(): Promise<void> {
    await this.tryAcquireOrRenew().catch((err: unknown) => this.logger.warn({ err: apiMessage(err) }, 'lease update failed'));
    if (this.leading && Date.now() - this.lastRenewAt > this.renewDeadlineMs()) {
      this.logger.error('could not renew the lease in time; stepping down');
      this.setLeading(false);
    }
  }

  private renewDeadlineMs(): number {
    // client-go's default ratio: renew deadline = 2/3 of the lease duration.
    return (this.options.leaseDurationSeconds * 1000 * 2) / 3;
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { name, namespace, identity, leaseDurationSeconds } = this.options;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      const now = new V1MicroTime();
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        });
      } catch (createErr) {
        if (statusCode(createErr) === 409) return; // another replica created it first
        throw createErr;
      }
      this.renewed();
      return;
    }

    // Times come back as plain Dates; sent back as such they lose the microseconds the API requires.
    const spec = {
      // eslint-disable-next-line @typescript-eslint/no-misused-spread -- the read lease is plain JSON, not a class instance
      ...lease.spec,
      acquireTime: lease.spec?.acquireTime ? new V1MicroTime(lease.spec.acquireTime) : undefined,
      renewTime: lease.spec?.renewTime ? new V1MicroTime(lease.spec.renewTime) : undefined,
    };
    const version = lease.metadata?.resourceVersion;
    const now = Date.now();
    if (!this.observed || this.observed.resourceVersion !== version) this.observed = { resourceVersion: version, at: now };
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    const expired = holder === '' || now - this.observed.at > duration;
    if (holder !== identity && !expired) {
      if (this.leading) this.setLeading(false);
      return;
    }
    const micro = new V1MicroTime(now);
    const taking = holder !== identity;
    try {
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds,
            renewTime: micro,
            ...(taking ? { acquireTime: micro, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
          },
        },
      });
    } catch (err) {
      if (statusCode(err) === 409) return; // someone else wrote it since our read: try again next period
      throw err;
    }
    this.renewed();
  }

  private renewed(): void {
    this.lastRenewAt = Date.now();
    if (!this.leading) this.setLeading(true);
  }

  private setLeading(leading: boolean): void {
    if (this.leading === leading) return;
    this.leading = leading;
    this.logger.info(
      { identity: this.options.identity, lease: `${this.options.namespace}/${this.options.name}` },
      leading ? 'became leader' : 'stopped leading',
    );
    if (leading) this.callbacks.onStartedLeading();
    else this.callbacks.onStoppedLeading();
  }
}
