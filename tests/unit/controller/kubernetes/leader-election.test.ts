/**
 * LeaseElector against a fake Lease API (a resourceVersion-checked store, as the API server is)
 * and fake timers: acquire, renew, lose to another holder, step down when renewals fail, take over
 * a stale holder only after a whole lease duration, and release the lease on stop.
 */
import type { V1Lease } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseElector, type LeaseApi } from '../../../../src/controller/kubernetes/leader-election.js';
import { createLogger } from '../../../../src/shared/logger.js';
import { elapse, useFakeClock } from '../../../helpers/fake-clock.js';

const NAME = 'nws-watermark-controller';
const NAMESPACE = 'ops';
const DURATION_S = 3;
const RENEW_S = 1;

const apiError = (code: number, message: string) => Object.assign(new Error(message), { code });

/** One Lease, stored as the API server stores it: every write needs the resourceVersion last read. */
class FakeLeases implements LeaseApi {
  lease: V1Lease | undefined;
  readonly calls: string[] = [];
  /** Errors the next reads throw, one each. */
  readonly readErrors: Error[] = [];
  /** Runs between the elector's read and its next write, as a racing replica would. */
  beforeNextWrite: (() => void) | undefined;
  private version = 0;

  async readNamespacedLease(): Promise<V1Lease> {
    this.calls.push('read');
    const err = this.readErrors.shift();
    if (err) throw err;
    if (!this.lease) throw apiError(404, 'leases.coordination.k8s.io "nws-watermark-controller" not found');
    return structuredClone(this.lease);
  }

  async createNamespacedLease(param: { namespace: string; body: V1Lease }): Promise<V1Lease> {
    this.calls.push('create');
    this.race();
    if (this.lease) throw apiError(409, 'already exists');
    return this.store(param.body);
  }

  async replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease> {
    this.calls.push('replace');
    this.race();
    if (param.body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw apiError(409, 'the object has been modified');
    return this.store(param.body);
  }

  /** Another replica writes the lease (a new resourceVersion), holding it as `holder`. */
  writeAs(holder: string): void {
    this.store({
      metadata: { name: NAME, namespace: NAMESPACE },
      spec: { holderIdentity: holder, leaseDurationSeconds: DURATION_S, renewTime: new Date(), acquireTime: new Date(), leaseTransitions: 0 },
    });
  }

  get holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }

  private race(): void {
    const race = this.beforeNextWrite;
    this.beforeNextWrite = undefined;
    race?.();
  }

  private store(body: V1Lease): V1Lease {
    this.version += 1;
    // The API server answers JSON: what is stored is plain data, as the client parses it.
    const stored = structuredClone(body);
    stored.metadata = Object.assign({}, stored.metadata, { resourceVersion: String(this.version) });
    this.lease = stored;
    return structuredClone(this.lease);
  }
}

interface Candidate {
  elector: LeaseElector;
  leases: FakeLeases;
  started: ReturnType<typeof vi.fn>;
  stopped: ReturnType<typeof vi.fn>;
}

const electors: LeaseElector[] = [];

function candidate(leases = new FakeLeases()): Candidate {
  const started = vi.fn();
  const stopped = vi.fn();
  const elector = new LeaseElector(
    leases,
    { namespace: NAMESPACE, name: NAME, identity: 'me', leaseDurationSeconds: DURATION_S, renewSeconds: RENEW_S },
    { onStartedLeading: started, onStoppedLeading: stopped },
    createLogger('test', 'silent'),
  );
  electors.push(elector);
  return { elector, leases, started, stopped };
}

beforeEach(() => useFakeClock('2030-01-01T00:00:00.000Z'));
afterEach(async () => {
  await Promise.all(electors.splice(0).map((elector) => elector.stop()));
  vi.useRealTimers();
});

describe('LeaseElector', () => {
  it('creates the lease when there is none, and leads', async () => {
    const c = candidate();
    c.elector.start();
    await elapse(0);
    expect(c.leases.calls).toEqual(['read', 'create']);
    expect(c.leases.lease?.spec).toMatchObject({ holderIdentity: 'me', leaseDurationSeconds: DURATION_S, leaseTransitions: 0 });
    expect(c.started).toHaveBeenCalledTimes(1);
  });

  it('renews every renew period, keeping its acquire time and the transition count', async () => {
    const c = candidate();
    c.elector.start();
    await elapse(0);
    const acquired = c.leases.lease?.spec?.acquireTime?.getTime();
    await elapse(RENEW_S * 1000);
    await elapse(RENEW_S * 1000);
    expect(c.leases.calls).toEqual(['read', 'create', 'read', 'replace', 'read', 'replace']);
    expect(c.leases.lease?.spec).toMatchObject({ holderIdentity: 'me', leaseTransitions: 0 });
    expect(c.leases.lease?.spec?.acquireTime?.getTime()).toBe(acquired);
    expect(c.leases.lease?.spec?.renewTime?.getTime()).toBe(Date.now());
    expect(c.started).toHaveBeenCalledTimes(1);
    expect(c.stopped).not.toHaveBeenCalled();
  });

  it('takes a free lease (released by its holder) at once', async () => {
    const c = candidate();
    c.leases.writeAs('');
    c.elector.start();
    await elapse(0);
    expect(c.leases.holder).toBe('me');
    expect(c.leases.lease?.spec?.leaseTransitions).toBe(1);
    expect(c.started).toHaveBeenCalledTimes(1);
  });

  it('waits while another replica renews its lease', async () => {
    const c = candidate();
    c.leases.writeAs('other');
    c.elector.start();
    for (let i = 0; i < 10; i += 1) {
      await elapse(RENEW_S * 1000);
      c.leases.writeAs('other'); // the holder renews: a new resourceVersion each time
    }
    expect(c.leases.holder).toBe('other');
    expect(c.leases.calls.filter((call) => call !== 'read')).toEqual([]);
    expect(c.started).not.toHaveBeenCalled();
  });

  it('takes over a stale holder only once it saw the same record for a whole lease duration', async () => {
    const c = candidate();
    c.leases.writeAs('crashed');
    c.elector.start();
    await elapse(0); // first sight of the record
    await elapse(DURATION_S * 1000); // unchanged for exactly one duration: not yet
    expect(c.leases.holder).toBe('crashed');
    expect(c.started).not.toHaveBeenCalled();
    await elapse(RENEW_S * 1000);
    expect(c.leases.holder).toBe('me');
    expect(c.leases.lease?.spec?.leaseTransitions).toBe(1);
    expect(c.leases.lease?.spec?.acquireTime?.getTime()).toBe(Date.now());
    expect(c.started).toHaveBeenCalledTimes(1);
  });

  it('stops leading when another replica holds the lease', async () => {
    const c = candidate();
    c.elector.start();
    await elapse(0);
    c.leases.writeAs('other');
    await elapse(RENEW_S * 1000);
    expect(c.stopped).toHaveBeenCalledTimes(1);
    expect(c.leases.holder).toBe('other');
  });

  it('steps down when it cannot renew within the renew deadline (2/3 of the duration)', async () => {
    const c = candidate();
    c.elector.start();
    await elapse(0);
    c.leases.readErrors.push(...Array.from({ length: 5 }, () => apiError(500, 'etcdserver: request timed out')));
    await elapse(RENEW_S * 1000);
    await elapse(RENEW_S * 1000); // 2 s since the last renewal: at the deadline, not past it
    expect(c.stopped).not.toHaveBeenCalled();
    await elapse(RENEW_S * 1000);
    expect(c.stopped).toHaveBeenCalledTimes(1);
    expect(c.leases.holder).toBe('me'); // nothing written: the record expires for the others by itself
  });

  it.each([
    ['its create loses the race to create the lease', undefined],
    ['its takeover of a free lease loses to another write (resourceVersion)', ''],
  ])('does not lead when %s (409)', async (_case, heldBy) => {
    const c = candidate();
    if (heldBy !== undefined) c.leases.writeAs(heldBy);
    c.leases.beforeNextWrite = () => c.leases.writeAs('other');
    c.elector.start();
    await elapse(0);
    expect(c.leases.holder).toBe('other');
    expect(c.started).not.toHaveBeenCalled();
  });

  it('releases the lease on stop, so another replica takes over at once', async () => {
    const c = candidate();
    c.elector.start();
    await elapse(0);
    await c.elector.stop();
    expect(c.stopped).toHaveBeenCalledTimes(1);
    expect(c.leases.lease?.spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    const calls = c.leases.calls.length;
    await elapse(RENEW_S * 5000);
    expect(c.leases.calls).toHaveLength(calls);
  });

  it('leaves a lease it does not hold alone on stop', async () => {
    const c = candidate();
    c.leases.writeAs('other');
    c.elector.start();
    await elapse(0);
    await c.elector.stop();
    expect(c.leases.holder).toBe('other');
    expect(c.leases.calls).toEqual(['read']);
    expect(c.stopped).not.toHaveBeenCalled();
  });
});
