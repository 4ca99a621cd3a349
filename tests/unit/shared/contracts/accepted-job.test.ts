import { describe, expect, it } from 'vitest';
import { acceptedJob, AcceptedJobSchema } from '../../../../src/shared/contracts/accepted-job.js';
import { decodeValue } from '../../../../src/shared/contracts/decode.js';
import { DEFAULT_SETTINGS } from '../../../helpers/watermark.js';

const HASH = 'c'.repeat(64);
const IMAGE = 'd'.repeat(64);

describe('accepted job contract (the 202 body)', () => {
  it('is what the api answers for a queued job', () => {
    const accepted = acceptedJob(HASH, IMAGE, DEFAULT_SETTINGS);
    expect(accepted).toEqual({ jobId: HASH, imageHash: IMAGE, status: 'pending', statusUrl: `/status/${HASH}`, settings: DEFAULT_SETTINGS });
    expect(decodeValue(AcceptedJobSchema, accepted)).toEqual({ ok: true, value: accepted });
  });

  it.each([
    ['jobId', { ...acceptedJob(HASH, IMAGE, DEFAULT_SETTINGS), jobId: 'nope' }, 'jobId must be 64 lowercase hex characters'],
    ['status', { ...acceptedJob(HASH, IMAGE, DEFAULT_SETTINGS), status: 'done' }, 'status'],
    ['statusUrl', { jobId: HASH, imageHash: IMAGE, status: 'pending', settings: DEFAULT_SETTINGS }, 'statusUrl must be a string (received nothing)'],
    ['settings', { ...acceptedJob(HASH, IMAGE, DEFAULT_SETTINGS), settings: { ...DEFAULT_SETTINGS, opacity: 2 } }, 'settings.opacity must be at most 1'],
  ])('names a bad %s', (_field, body, words) => {
    const decoded = decodeValue(AcceptedJobSchema, body);
    expect(decoded.ok).toBe(false);
    expect(decoded.ok ? '' : decoded.reason).toContain(words);
  });
});
