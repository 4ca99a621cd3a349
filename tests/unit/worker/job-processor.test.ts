/**
 * JobProcessor over in-memory adapters and a scripted optimizer: its idempotency branches (what
 * Redis and the store already know), how each optimizer outcome is classified, and what it keeps.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { watermarkedKey } from '../../../src/shared/content-address.js';
import type { OptimizeResult } from '../../../src/shared/optimizer-client.js';
import { DEFAULT_SETTINGS, testJob } from '../../helpers/watermark.js';
import { JobProcessor } from '../../../src/worker/job-processor.js';
import { recordingLogger } from '../fakes/logger.js';
import { MemoryJobRecords, MemoryObjectStore, MemoryResultCache } from '../fakes/state.js';

const hash = '7'.repeat(64);
const job = testJob(hash);
const id = job.result_id;
const OK: OptimizeResult = { outcome: 'ok', data: Buffer.from('watermarked'), contentType: 'image/webp' };

let store: MemoryObjectStore;
let results: MemoryResultCache;
let jobs: MemoryJobRecords;
let log: ReturnType<typeof recordingLogger>;
let optimizer: { optimize: ReturnType<typeof vi.fn<() => Promise<OptimizeResult>>>; isReady: ReturnType<typeof vi.fn<() => Promise<boolean>>> };
let processor: JobProcessor;

beforeEach(() => {
  store = new MemoryObjectStore();
  results = new MemoryResultCache();
  jobs = new MemoryJobRecords();
  log = recordingLogger();
  optimizer = { optimize: vi.fn(async () => OK), isReady: vi.fn(async () => true) };
  processor = new JobProcessor({ store, results, jobs, optimizer, logger: log.logger });
  store.objects.set(job.original_key, { data: Buffer.from('original'), contentType: 'image/jpeg', metadata: {} });
});

function storeResult(resultId = id): void {
  store.objects.set(watermarkedKey(resultId, 'webp'), {
    data: Buffer.from('old result'),
    contentType: 'image/webp',
    metadata: { 'x-amz-meta-original': hash },
  });
}

describe('JobProcessor idempotency', () => {
  it('takes a job Redis knows as done for done, announcing nothing and touching nothing', async () => {
    jobs.records.set(id, { status: 'done', attempts: 1, updatedAt: '' });
    store.fail('*');
    expect(await processor.process(job, 0, true)).toEqual({ kind: 'done', alreadyDone: true, announce: false });
    expect(optimizer.optimize).not.toHaveBeenCalled();
  });

  it('on a redelivery, finds the result the worker before stored, records it and announces it', async () => {
    storeResult();
    expect(await processor.process(job, 2, true)).toEqual({ kind: 'done', alreadyDone: true, announce: true });
    expect(jobs.records.get(id)).toMatchObject({ status: 'done', attempts: 2 });
    expect(optimizer.optimize).not.toHaveBeenCalled();
  });

  it('asks the store when Redis cannot answer, even for a first delivery', async () => {
    jobs.fail('*');
    storeResult();
    results.fail('*');
    expect(await processor.process(job, 0, false)).toEqual({ kind: 'done', alreadyDone: true, announce: true });
    expect(log.warnings()).toMatchObject([{ msg: 'job state not updated', resultId: id }]);
  });

  it('makes its own result when the stored one is of the same bytes with other settings', async () => {
    storeResult(testJob(hash, { ...DEFAULT_SETTINGS, text: 'OTHER' }).result_id);
    expect(await processor.process(job, 0, true)).toEqual({ kind: 'done', alreadyDone: false, announce: true });
    expect(optimizer.optimize).toHaveBeenCalledOnce();
  });

  it('does not look in the store for a first delivery Redis knows nothing of', async () => {
    storeResult();
    const findResult = vi.spyOn(store, 'findResult');
    expect(await processor.process(job, 0, false)).toMatchObject({ kind: 'done', alreadyDone: false });
    expect(findResult).not.toHaveBeenCalled();
  });

  it('waits for the store when it cannot say whether the job is done', async () => {
    jobs.fail('get');
    store.fail('findFirst');
    expect(await processor.process(job, 0, false)).toEqual({
      kind: 'failed',
      failure: { kind: 'dependency-down', dependency: 'object store', detail: expect.stringContaining('object store unavailable') },
    });
  });
});

describe('JobProcessor outcomes', () => {
  it('sends the job’s settings, and keeps the result under its id in the store, the cache and the record', async () => {
    expect(await processor.process(job, 1)).toEqual({ kind: 'done', alreadyDone: false, announce: true });
    expect(optimizer.optimize).toHaveBeenCalledWith(Buffer.from('original'), 'photo.jpg', 'image/jpeg', DEFAULT_SETTINGS);
    expect(store.objects.get(watermarkedKey(id, 'webp'))).toMatchObject({ contentType: 'image/webp', metadata: { 'x-amz-meta-original': hash } });
    expect(results.results.get(id)).toEqual({ data: OK.data, contentType: 'image/webp' });
    expect(jobs.records.get(id)).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('is done once the store has the result, whatever Redis says', async () => {
    results.fail('set');
    jobs.fail('write');
    expect(await processor.process(job, 0)).toMatchObject({ kind: 'done', alreadyDone: false });
    expect(store.objects.has(watermarkedKey(id, 'webp'))).toBe(true);
  });

  it('fails for good when the original is gone', async () => {
    store.objects.clear();
    expect(await processor.process(job, 0)).toEqual({ kind: 'failed', failure: { kind: 'permanent', detail: `original ${job.original_key} does not exist` } });
  });

  it.each([
    ['the original cannot be read', 'get'],
    ['the result cannot be stored', 'put'],
  ] as const)('waits for the store when %s', async (_case, op) => {
    store.fail(op);
    expect(await processor.process(job, 0)).toMatchObject({ kind: 'failed', failure: { kind: 'dependency-down', dependency: 'object store' } });
  });

  it('fails for good an image the optimizer rejects', async () => {
    optimizer.optimize.mockResolvedValue({ outcome: 'rejected', status: 422, detail: 'truncated JPEG' });
    expect(await processor.process(job, 0)).toEqual({ kind: 'failed', failure: { kind: 'permanent', detail: 'optimizer rejected the image: truncated JPEG' } });
  });

  it.each<[string, Exclude<OptimizeResult, { outcome: 'ok' }>, boolean, string]>([
    ['a timeout from a healthy optimizer', { outcome: 'timeout', detail: 'slow' }, true, 'job-failed'],
    ['a timeout from an optimizer that is down', { outcome: 'timeout', detail: 'slow' }, false, 'dependency-down'],
    ['a 500 from a healthy optimizer', { outcome: 'unavailable', status: 500, detail: 'crashed on it' }, true, 'job-failed'],
    ['a 500 from an optimizer that is down', { outcome: 'unavailable', status: 500, detail: 'crashed' }, false, 'dependency-down'],
    ['a 503 (saturated)', { outcome: 'unavailable', status: 503, detail: 'busy' }, true, 'dependency-down'],
    ['no answer at all', { outcome: 'unavailable', detail: 'ECONNREFUSED' }, true, 'dependency-down'],
  ])('classifies %s', async (_case, outcome, ready, kind) => {
    optimizer.optimize.mockResolvedValue(outcome);
    optimizer.isReady.mockResolvedValue(ready);
    const result = await processor.process(job, 0);
    expect(result).toMatchObject({ kind: 'failed', failure: { kind, detail: outcome.detail } });
    if (kind === 'dependency-down') expect(result).toMatchObject({ failure: { dependency: 'optimizer' } });
  });
});

describe('JobProcessor with two copies of one job in hand', () => {
  it('does the work once: the second copy waits, then finds the first done', async () => {
    const [first, second] = await Promise.all([processor.process(job, 0), processor.process(job, 0)]);
    expect(first).toEqual({ kind: 'done', alreadyDone: false, announce: true });
    expect(second).toEqual({ kind: 'done', alreadyDone: true, announce: false });
    expect(optimizer.optimize).toHaveBeenCalledOnce();
  });

  it('still runs different jobs side by side', async () => {
    const other = testJob('8'.repeat(64));
    store.objects.set(other.original_key, { data: Buffer.from('original 2'), contentType: 'image/jpeg', metadata: {} });
    let release: () => void = () => undefined;
    const held = new Promise<OptimizeResult>((resolve) => (release = () => resolve(OK)));
    optimizer.optimize.mockReturnValueOnce(held);
    const slow = processor.process(job, 0);
    expect(await processor.process(other, 0)).toMatchObject({ kind: 'done', alreadyDone: false });
    release();
    expect(await slow).toMatchObject({ kind: 'done', alreadyDone: false });
    expect(optimizer.optimize).toHaveBeenCalledTimes(2);
  });
});
