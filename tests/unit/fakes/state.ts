/**
 * In-memory stand-ins for the state adapters (object store, job records, result cache), with
 * switchable faults: `fail('get')` makes that operation reject as the real adapter does when its
 * server is down, `fail('*')` makes every operation reject.
 */
import type { CachedResult, ResultCache } from '../../../src/shared/cache.js';
import { watermarkedKey } from '../../../src/shared/content-address.js';
import { RESULT_EXTENSIONS } from '../../../src/shared/image-type.js';
import type { JobRecord, JobRecordStore } from '../../../src/shared/job-record-store.js';
import { ObjectNotFoundError, ObjectStoreUnavailableError, type ObjectStore, type StoredResult } from '../../../src/shared/object-store.js';

class Faults<Op extends string> {
  private readonly failing = new Set<Op | '*'>();

  fail(...ops: (Op | '*')[]): void {
    for (const op of ops) this.failing.add(op);
  }

  heal(): void {
    this.failing.clear();
  }

  protected check(op: Op, error: () => Error): void {
    if (this.failing.has(op) || this.failing.has('*')) throw error();
  }
}

type StoreOp = 'get' | 'put' | 'exists' | 'remove' | 'findFirst' | 'ping';

export interface StoredObject {
  data: Buffer;
  contentType: string;
  metadata: Record<string, string>;
}

export class MemoryObjectStore
  extends Faults<StoreOp>
  implements Pick<ObjectStore, 'get' | 'put' | 'exists' | 'remove' | 'findFirst' | 'findResult' | 'putResult' | 'ping'>
{
  readonly objects = new Map<string, StoredObject>();

  private down(op: StoreOp): void {
    this.check(op, () => new ObjectStoreUnavailableError(op, new Error('connect ECONNREFUSED')));
  }

  async get(key: string): Promise<Buffer> {
    this.down('get');
    const object = this.objects.get(key);
    if (!object) throw new ObjectNotFoundError(key);
    return object.data;
  }

  async put(key: string, data: Buffer, contentType: string, options: { metadata?: Record<string, string> } = {}): Promise<void> {
    this.down('put');
    this.objects.set(key, { data, contentType, metadata: options.metadata ?? {} });
  }

  async exists(key: string): Promise<boolean> {
    this.down('exists');
    return this.objects.has(key);
  }

  async remove(key: string): Promise<void> {
    this.down('remove');
    this.objects.delete(key);
  }

  async ping(): Promise<boolean> {
    try {
      this.down('ping');
      return true;
    } catch {
      return false;
    }
  }

  async findFirst(keys: readonly string[]): Promise<{ key: string; metaData: Record<string, string | undefined> } | undefined> {
    this.down('findFirst');
    const key = keys.find((candidate) => this.objects.has(candidate));
    if (!key) return undefined;
    const object = this.objects.get(key)!;
    return { key, metaData: { 'content-type': object.contentType, original: object.metadata['x-amz-meta-original'] } };
  }

  async findResult(resultId: string): Promise<StoredResult | undefined> {
    const found = await this.findFirst(RESULT_EXTENSIONS.map((ext) => watermarkedKey(resultId, ext)));
    if (!found) return undefined;
    return { key: found.key, data: await this.get(found.key), contentType: found.metaData['content-type']! };
  }

  async putResult(resultId: string, ext: string, data: Buffer, contentType: string, originalHash: string): Promise<string> {
    const key = watermarkedKey(resultId, ext);
    await this.put(key, data, contentType, { metadata: { 'x-amz-meta-original': originalHash } });
    return key;
  }
}

type RecordOp = 'get' | 'write' | 'claim' | 'release';

export class MemoryJobRecords
  extends Faults<RecordOp>
  implements Pick<JobRecordStore, 'get' | 'claimPending' | 'releasePending' | 'setPending' | 'markDone' | 'markFailed'>
{
  readonly records = new Map<string, JobRecord>();

  private down(op: RecordOp): void {
    this.check(op, () => new Error('Connection is closed.'));
  }

  async get(hash: string): Promise<JobRecord | undefined> {
    this.down('get');
    return this.records.get(hash);
  }

  async claimPending(hash: string): Promise<boolean> {
    this.down('claim');
    if (this.records.get(hash)?.status === 'pending') return false;
    this.records.set(hash, { status: 'pending', attempts: 0, updatedAt: '' });
    return true;
  }

  async releasePending(hash: string): Promise<void> {
    this.down('release');
    this.records.delete(hash);
  }

  async setPending(hash: string, attempts: number, error?: string): Promise<void> {
    this.write(hash, { status: 'pending', attempts, ...(error ? { error } : {}) });
  }

  async markDone(hash: string, attempts: number): Promise<void> {
    this.write(hash, { status: 'done', attempts });
  }

  async markFailed(hash: string, attempts: number, error: string): Promise<void> {
    this.write(hash, { status: 'failed', attempts, error });
  }

  private write(hash: string, record: Omit<JobRecord, 'updatedAt'>): void {
    this.down('write');
    this.records.set(hash, { ...record, updatedAt: '' });
  }
}

type CacheOp = 'get' | 'set';

export class MemoryResultCache extends Faults<CacheOp> implements Pick<ResultCache, 'get' | 'set'> {
  readonly results = new Map<string, CachedResult>();

  private down(op: CacheOp): void {
    this.check(op, () => new Error('Connection is closed.'));
  }

  async get(resultId: string): Promise<CachedResult | undefined> {
    this.down('get');
    return this.results.get(resultId);
  }

  async set(resultId: string, result: CachedResult): Promise<void> {
    this.down('set');
    this.results.set(resultId, result);
  }
}
