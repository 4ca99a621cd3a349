import { describe, expect, it } from 'vitest';
import { decodeValue } from '../../../../src/shared/contracts/decode.js';
import { JobStatusSchema } from '../../../../src/shared/contracts/job-status.js';

describe('status view contract', () => {
  it.each([
    { status: 'pending' },
    { status: 'pending', attempts: 2, error: 'optimizer timed out' },
    { status: 'done', url: `/image/${'a'.repeat(64)}`, attempts: 1 },
    { status: 'failed', attempts: 5, error: 'rejected' },
  ])('accepts %j', (view) => {
    expect(decodeValue(JobStatusSchema, view)).toEqual({ ok: true, value: view });
  });

  it.each([
    ['status', { status: 'queued' }, 'status must be one of "pending", "done", "failed" (received "queued")'],
    ['status', {}, 'status must be one of "pending", "done", "failed" (received nothing)'],
    ['url', { status: 'done', url: 3 }, 'url must be a string (received 3)'],
    ['attempts', { status: 'pending', attempts: 'two' }, 'attempts must be a number (received "two")'],
    ['error', { status: 'failed', error: ['x'] }, 'error must be a string (received an array)'],
    ['the answer', 'done', 'body is not a JSON object (received "done")'],
  ])('names a bad %s', (_field, value, reason) => {
    expect(decodeValue(JobStatusSchema, value)).toEqual({ ok: false, reason });
  });
});
