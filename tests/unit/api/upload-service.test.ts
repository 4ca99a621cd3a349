/**
 * UploadService over in-memory adapters, a scripted optimizer and publisher: every answer it gives
 * (200 HIT/MISS, 202, 415/422, 503 refused or unconfirmed), what it keeps or cleans up for each,
 * and the adapter failures it goes on without — which it must log.
 */
import type { Options } from 'amqplib';
import { Registry } from 'prom-client';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { UploadService } from '../../../src/api/upload-service.js';
import { PublishError } from '../../../src/shared/broker/publisher.js';
import { originalKey, queuedJobKey, sha256Hex, watermarkedKey } from '../../../src/shared/content-address.js';
import { decodeJobEvent, decodeJobMessage } from '../../../src/shared/contracts/index.js';
import type { HashedFile } from '../../../src/shared/http/multipart.js';
import { HttpProblem } from '../../../src/shared/http/problem.js';
import { apiMetrics } from '../../../src/shared/metrics.js';
import type { OptimizeResult } from '../../../src/shared/optimizer-client.js';
import { makeJpeg } from '../../helpers/images.js';
import { DEFAULT_SETTINGS } from '../../helpers/watermark.js';
import { resultIdFor } from '../../../src/shared/watermark/identity.js';
import { recordingLogger } from '../fakes/logger.js';
import { MemoryJobRecords, MemoryObjectStore, MemoryResultCache } from '../fakes/state.js';

type PublishArgs = [exchange: string, routingKey: string, body: Buffer, options: Options.Publish, timeoutMs: number];

const RESULT: OptimizeResult = { outcome: 'ok', data: Buffer.from('watermarked'), contentType: 'image/webp' };
const DOWN: OptimizeResult = { outcome: 'unavailable', detail: 'ECONNREFUSED' };

let jpeg: Buffer;
let hash: string;
/** The result id of `jpeg` with DEFAULT_SETTINGS. */
let id: string;
let store: MemoryObjectStore;
let results: MemoryResultCache;
let jobs: MemoryJobRecords;
let optimize: ReturnType<typeof vi.fn<() => Promise<OptimizeResult>>>;
let publish: ReturnType<typeof vi.fn<(...args: PublishArgs) => Promise<void>>>;
let metrics: ReturnType<typeof apiMetrics>;
let log: ReturnType<typeof recordingLogger>;
let service: UploadService;

beforeAll(async () => {
  jpeg = await makeJpeg(7, 64, 48);
  hash = sha256Hex(jpeg);
  id = resultIdFor(hash, DEFAULT_SETTINGS);
});

beforeEach(() => {
  store = new MemoryObjectStore();
  results = new MemoryResultCache();
  jobs = new MemoryJobRecords();
  optimize = vi.fn(async () => RESULT);
  publish = vi.fn(async () => undefined);
  metrics = apiMetrics(new Registry());
  log = recordingLogger();
  service = new UploadService({
    config: { MAX_INPUT_PIXELS: 10_000_000, PUBLISH_CONFIRM_TIMEOUT_MS: 1_000, EVENT_CONFIRM_TIMEOUT_MS: 1_000 },
    store,
    results,
    jobs,
    optimizer: { optimize },
    publisher: { publish },
    metrics,
    logger: log.logger,
  });
});

function upload(data: Buffer = jpeg, settings = DEFAULT_SETTINGS) {
  const sha256 = sha256Hex(data);
  const file: HashedFile = { data, head: data.subarray(0, 4096), sha256, filename: '../photo.jpg', fields: [], release: () => undefined };
  return service.handle(file, { correlationId: 'req-abcdefgh', settings, resultId: resultIdFor(sha256, settings) });
}

/** What the client will see of the problem the upload was refused with. */
async function problemOf(answer: Promise<unknown>): Promise<{ status: number; slug: string; message: string; retryAfterSeconds: number | undefined }> {
  const err = await answer.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpProblem);
  const problem = err as HttpProblem;
  return { status: problem.status, slug: problem.type.slug, message: problem.message, retryAfterSeconds: problem.options.retryAfterSeconds };
}

async function uploads(result: string): Promise<number> {
  const { values } = await metrics.uploads.get();
  return values.find((v) => v.labels.result === result)?.value ?? 0;
}

const jobsPublished = (): PublishArgs[] => publish.mock.calls.filter(([exchange]) => exchange === '');

describe('UploadService: answered now', () => {
  it('optimizes new bytes, keeps the original and the result, and answers MISS', async () => {
    expect(await upload()).toEqual({ kind: 'image', hash, resultId: id, data: RESULT.data, contentType: 'image/webp', cache: 'MISS' });
    expect(optimize).toHaveBeenCalledWith(jpeg, 'photo.jpg', 'image/jpeg', DEFAULT_SETTINGS);
    expect(store.objects.get(originalKey(hash, 'jpg'))).toMatchObject({ contentType: 'image/jpeg', metadata: { 'x-amz-meta-filename': 'photo.jpg' } });
    expect(store.objects.get(watermarkedKey(id, 'webp'))?.metadata).toEqual({ 'x-amz-meta-original': hash });
    expect(results.results.get(id)).toEqual({ data: RESULT.data, contentType: 'image/webp' });
    expect(jobs.records.get(id)).toMatchObject({ status: 'done', attempts: 0 });
    expect(await uploads('optimized')).toBe(1);
  });

  it('keeps one original for two results of the same bytes with other settings', async () => {
    const other = { ...DEFAULT_SETTINGS, text: 'ACME', format: 'webp' as const };
    await upload();
    const put = vi.spyOn(store, 'put');
    expect(await upload(jpeg, other)).toMatchObject({ kind: 'image', resultId: resultIdFor(hash, other), cache: 'MISS' });
    expect(optimize).toHaveBeenLastCalledWith(jpeg, 'photo.jpg', 'image/jpeg', other);
    expect(put.mock.calls.map(([key]) => key)).toEqual([watermarkedKey(resultIdFor(hash, other), 'webp')]);
    expect([...store.objects.keys()].filter((key) => key.startsWith('original/'))).toEqual([originalKey(hash, 'jpg')]);
  });

  it('still answers the image when keeping it fails, and logs each thing not kept', async () => {
    results.fail('set');
    jobs.fail('write');
    store.fail('put');
    store.objects.set(originalKey(hash, 'jpg'), { data: jpeg, contentType: 'image/jpeg', metadata: {} });
    expect(await upload()).toMatchObject({ kind: 'image', cache: 'MISS' });
    expect(
      log
        .warnings()
        .map((line) => line.msg)
        .sort(),
    ).toEqual(['job state not updated', 'result not cached', 'result not stored']);
    expect(log.warnings()[0]).toMatchObject({ hash, correlationId: 'req-abcdefgh' });
  });

  it('answers a cached result as a HIT without calling the optimizer', async () => {
    results.results.set(id, { data: Buffer.from('cached'), contentType: 'image/webp' });
    expect(await upload()).toEqual({ kind: 'image', hash, resultId: id, data: Buffer.from('cached'), contentType: 'image/webp', cache: 'HIT' });
    expect(optimize).not.toHaveBeenCalled();
    expect(await uploads('cache_hit')).toBe(1);
  });

  it('answers a HIT from the hash and the first bytes alone: no job lookup, no join of the upload', async () => {
    results.results.set(id, { data: Buffer.from('cached'), contentType: 'image/webp' });
    const getJob = vi.spyOn(jobs, 'get');
    const file: HashedFile = {
      get data(): Buffer {
        throw new Error('a hit must not read the whole upload');
      },
      head: jpeg.subarray(0, 4096),
      sha256: hash,
      filename: 'photo.jpg',
      fields: [],
      release: () => undefined,
    };
    expect(await service.handle(file, { correlationId: 'req-abcdefgh', settings: DEFAULT_SETTINGS, resultId: id })).toMatchObject({ cache: 'HIT' });
    expect(getJob).not.toHaveBeenCalled();
  });

  it('answers from the store while Redis is down, and warms the cache with it', async () => {
    results.fail('get');
    jobs.fail('get');
    store.objects.set(watermarkedKey(id, 'webp'), { data: Buffer.from('stored'), contentType: 'image/webp', metadata: {} });
    expect(await upload()).toMatchObject({ kind: 'image', data: Buffer.from('stored'), cache: 'HIT' });
    expect(results.results.get(id)?.data).toEqual(Buffer.from('stored'));
  });

  it('makes a new result for a stored result of other settings', async () => {
    results.fail('get');
    store.objects.set(watermarkedKey(resultIdFor(hash, { ...DEFAULT_SETTINGS, opacity: 1 }), 'webp'), {
      data: Buffer.from('old'),
      contentType: 'image/webp',
      metadata: {},
    });
    expect(await upload()).toMatchObject({ kind: 'image', cache: 'MISS' });
  });

  it('does not ask the store about bytes Redis has never seen', async () => {
    const findResult = vi.spyOn(store, 'findResult');
    await upload();
    expect(findResult).not.toHaveBeenCalled();
  });

  it('treats a store that cannot look the result up as a miss, and logs it', async () => {
    results.fail('get');
    store.fail('findFirst');
    expect(await upload()).toMatchObject({ kind: 'image', cache: 'MISS' });
    expect(log.warnings().map((line) => line.msg)).toContain('object store lookup failed; treating as a miss');
  });
});

describe('UploadService: refused', () => {
  it('refuses what is not an image with 415 before any lookup', async () => {
    const get = vi.spyOn(jobs, 'get');
    expect(await problemOf(upload(Buffer.from('GIF? no, plain text')))).toMatchObject({ status: 415, slug: 'unsupported-type' });
    expect(get).not.toHaveBeenCalled();
    expect(await uploads('rejected')).toBe(1);
  });

  it('refuses with 422 what the optimizer rejects, removing the original it stored', async () => {
    optimize.mockResolvedValue({ outcome: 'rejected', status: 422, detail: 'truncated' });
    expect(await problemOf(upload())).toMatchObject({ status: 422, slug: 'undecodable', message: 'truncated' });
    expect(store.objects.has(originalKey(hash, 'jpg'))).toBe(false);
  });

  it('keeps an original that was there before a 422, and logs a removal that failed', async () => {
    optimize.mockResolvedValue({ outcome: 'rejected', status: 422, detail: 'truncated' });
    store.fail('remove');
    await problemOf(upload());
    expect(log.warnings().map((line) => line.msg)).toEqual(['rejected original not removed']);
    store.heal();
    const remove = vi.spyOn(store, 'remove');
    await problemOf(upload()); // the original is there from the first attempt now
    expect(remove).not.toHaveBeenCalled();
  });

  it('answers 503 and accepts nothing when the original cannot be stored', async () => {
    store.fail('put');
    expect(await problemOf(upload())).toMatchObject({ status: 503, slug: 'unavailable', retryAfterSeconds: 5 });
    expect(optimize).not.toHaveBeenCalled();
    expect(await uploads('failed')).toBe(1);
  });
});

describe('UploadService: queued', () => {
  beforeEach(() => {
    optimize.mockResolvedValue(DOWN);
  });

  it('publishes the job message, and answers 202 once the broker confirmed it', async () => {
    expect(await upload()).toEqual({ kind: 'queued', hash, resultId: id });
    const [[, queue, body, options, timeoutMs]] = jobsPublished() as [PublishArgs];
    expect(queue).toBe('watermark_retry');
    expect(decodeJobMessage(body)).toMatchObject({
      ok: true,
      value: { hash, result_id: id, settings: DEFAULT_SETTINGS, original_key: originalKey(hash, 'jpg'), filename: 'photo.jpg', content_type: 'image/jpeg' },
    });
    expect(options).toMatchObject({ persistent: true, messageId: id, headers: { 'x-attempts': 0, 'x-correlation-id': 'req-abcdefgh' } });
    expect(timeoutMs).toBe(1_000);
    expect(jobs.records.get(id)).toMatchObject({ status: 'pending' });
    // The store's record of the queued job is the message itself: the status survives a Redis loss.
    expect(store.objects.get(queuedJobKey(id))?.data).toEqual(body);
    expect(await uploads('queued')).toBe(1);
    expect(await metrics.jobsPublished.get()).toMatchObject({ values: [{ value: 1 }] });
    const events = publish.mock.calls.filter(([exchange]) => exchange === 'watermark.events').map(([, , b]) => decodeJobEvent(b));
    expect(events).toMatchObject([{ ok: true, value: { type: 'job.queued', hash: id, attempts: 0, correlationId: 'req-abcdefgh' } }]);
  });

  it('answers the same 202 for bytes with a job pending, without a second job or a call', async () => {
    jobs.records.set(id, { status: 'pending', attempts: 1, updatedAt: '' });
    expect(await upload()).toEqual({ kind: 'queued', hash, resultId: id });
    expect(optimize).not.toHaveBeenCalled();
    expect(publish).not.toHaveBeenCalled();
  });

  it('publishes no second job when a racing upload claimed it first', async () => {
    vi.spyOn(jobs, 'claimPending').mockResolvedValue(false);
    expect(await upload()).toEqual({ kind: 'queued', hash, resultId: id });
    expect(jobsPublished()).toEqual([]);
  });

  it('publishes without de-duplication while Redis is down', async () => {
    jobs.fail('*');
    expect(await upload()).toEqual({ kind: 'queued', hash, resultId: id });
    expect(jobsPublished()).toHaveLength(1);
    expect(log.warnings().map((line) => line.msg)).toContain('job state unavailable; publishing without de-duplication');
  });

  it('answers 503 and takes everything back when the broker refused the job', async () => {
    publish.mockRejectedValueOnce(new PublishError('broker refused the message (nack)', 'refused'));
    expect(await problemOf(upload())).toMatchObject({ status: 503, slug: 'unavailable' });
    expect(jobs.records.has(id)).toBe(false);
    expect(store.objects.has(originalKey(hash, 'jpg'))).toBe(false);
    expect(store.objects.has(queuedJobKey(id))).toBe(false);
    expect(await uploads('failed')).toBe(1);
  });

  it('answers 503 unconfirmed and keeps the original when the job may still be queued', async () => {
    publish.mockRejectedValueOnce(new PublishError('broker did not confirm within 1000 ms', 'unknown'));
    expect(await problemOf(upload())).toMatchObject({ status: 503, slug: 'unconfirmed', retryAfterSeconds: 5 });
    expect(jobs.records.has(id)).toBe(false);
    expect(store.objects.has(queuedJobKey(id))).toBe(true);
    expect(store.objects.has(originalKey(hash, 'jpg'))).toBe(true);
  });

  it('logs a claim it could not give back, and what it could not clean up', async () => {
    publish.mockRejectedValueOnce(new PublishError('broker is not connected'));
    vi.spyOn(jobs, 'releasePending').mockRejectedValue(new Error('Connection is closed.'));
    vi.spyOn(store, 'remove').mockRejectedValue(new Error('timed out'));
    await problemOf(upload());
    expect(log.warnings().map((line) => line.msg)).toEqual([
      'job not confirmed; answering 503',
      'pending claim not released',
      'record of a refused job not removed',
      'original of a refused job not removed',
    ]);
  });

  it('answers 503 and publishes nothing when the store cannot record the job', async () => {
    store.objects.set(originalKey(hash, 'jpg'), { data: jpeg, contentType: 'image/jpeg', metadata: {} });
    vi.spyOn(store, 'put').mockRejectedValue(new Error('timed out'));
    expect(await problemOf(upload())).toMatchObject({ status: 503, slug: 'unavailable' });
    expect(jobsPublished()).toEqual([]);
    expect(jobs.records.has(id)).toBe(false);
  });
});
