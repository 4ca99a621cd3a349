import { describe, expect, it } from 'vitest';
import { acceptedJob, AcceptedJobSchema } from '../../../../src/shared/contracts/accepted-job.js';
import { decodeValue } from '../../../../src/shared/contracts/decode.js';

const HASH = 'c'.repeat(64);

describe('accepted job contract (the 202 body)', () => {
  it('is what the api answers for a queued job', () => {
    expect(acceptedJob(HASH)).toEqual({ jobId: HASH, status: 'pending', statusUrl: `/status/${HASH}` });
    expect(decodeValue(AcceptedJobSchema, acceptedJob(HASH))).toEqual({ ok: true, value: acceptedJob(HASH) });
  });

  it.each([
    ['jobId', { jobId: 'nope', status: 'pending', statusUrl: '/status/nope' }, 'jobId must be 64 lowercase hex characters'],
    ['status', { jobId: HASH, status: 'done', statusUrl: `/status/${HASH}` }, 'status'],
    ['statusUrl', { jobId: HASH, status: 'pending' }, 'statusUrl must be a string (received nothing)'],
  ])('names a bad %s', (_field, body, words) => {
    const decoded = decodeValue(AcceptedJobSchema, body);
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.reason).toContain(words);
  });
});
