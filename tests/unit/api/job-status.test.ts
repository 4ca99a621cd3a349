/** readJobStatus over in-memory adapters: each source it answers from, and the outages it must not hide. */
import { beforeEach, describe, expect, it } from 'vitest';
import { isFinal, readJobStatus } from '../../../src/api/job-status.js';
import { failureRecordKey, queuedJobKey, originalKey, watermarkedKey } from '../../../src/shared/content-address.js';
import { encodeFailureRecord } from '../../../src/shared/contracts/failure-record.js';
import { JobStatusSchema, type JobStatus } from '../../../src/shared/contracts/job-status.js';
import { recordingLogger } from '../fakes/logger.js';
import { MemoryJobRecords, MemoryObjectStore } from '../fakes/state.js';

const hash = '9'.repeat(64);
let jobs: MemoryJobRecords;
let store: MemoryObjectStore;
let log: ReturnType<typeof recordingLogger>;

beforeEach(() => {
  jobs = new MemoryJobRecords();
  store = new MemoryObjectStore();
  log = recordingLogger();
});

async function read() {
  const status = await readJobStatus(hash, { jobs, store, logger: log.logger });
  // Whatever the source, the answer is the contract's status view.
  if (status) JobStatusSchema.parse(status);
  return status;
}

function putObject(key: string, data: Buffer = Buffer.from('x'), metadata: Record<string, string> = {}): void {
  store.objects.set(key, { data, contentType: 'image/jpeg', metadata });
}

describe('readJobStatus', () => {
  it('answers from the Redis record first', async () => {
    jobs.records.set(hash, { status: 'pending', attempts: 2, error: 'optimizer timed out', updatedAt: '' });
    expect(await read()).toEqual({ status: 'pending', attempts: 2, error: 'optimizer timed out' });
    jobs.records.set(hash, { status: 'done', attempts: 1, updatedAt: '' });
    expect(await read()).toEqual({ status: 'done', url: `/image/${hash}`, attempts: 1 });
  });

  it('falls back to the store while Redis is down: a result is done', async () => {
    jobs.fail('get');
    putObject(watermarkedKey(hash, 'webp'));
    expect(await read()).toEqual({ status: 'done', url: `/image/${hash}` });
  });

  it('answers failed with the failure record’s attempts and error', async () => {
    putObject(failureRecordKey(hash), encodeFailureRecord({ hash, attempts: 5, error: 'rejected', at: '2026-01-01T00:00:00.000Z' }));
    putObject(originalKey(hash, 'jpg'));
    expect(await read()).toEqual({ status: 'failed', attempts: 5, error: 'rejected' });
  });

  it('answers failed, and says so in the log, when the failure record is unreadable', async () => {
    putObject(failureRecordKey(hash), Buffer.from('{"attempts":"many"'));
    putObject(originalKey(hash, 'jpg'));
    expect(await read()).toEqual({ status: 'failed' });
    expect(log.warnings()).toMatchObject([{ msg: expect.stringContaining('failure record unreadable'), reason: 'body is not JSON', hash }]);
  });

  it('rejects when the store cannot read the failure record, instead of answering pending', async () => {
    putObject(originalKey(hash, 'jpg'));
    store.fail('get');
    await expect(read()).rejects.toThrow(/object store unavailable/);
  });

  it('answers pending for a queued job’s record, and nothing for an original alone or an unknown id', async () => {
    expect(await read()).toBeUndefined();
    // An original is not a job: it may have results under other ids, or none yet.
    putObject(originalKey(hash, 'png'));
    expect(await read()).toBeUndefined();
    putObject(queuedJobKey(hash));
    expect(await read()).toEqual({ status: 'pending' });
  });

  it('calls done and failed final, pending not', () => {
    const views: JobStatus[] = [{ status: 'pending' }, { status: 'done' }, { status: 'failed' }];
    expect(views.map(isFinal)).toEqual([false, true, true]);
  });
});
