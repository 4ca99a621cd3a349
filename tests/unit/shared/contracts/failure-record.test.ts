import { describe, expect, it } from 'vitest';
import { decodeFailureRecord, encodeFailureRecord, MAX_FAILURE_RECORD_BYTES, type FailureRecord } from '../../../../src/shared/contracts/failure-record.js';

const record: FailureRecord = { hash: 'f'.repeat(64), attempts: 5, error: 'optimizer timed out (after 5 attempts)', at: '2026-01-01T00:00:00.000Z' };
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('failure record contract', () => {
  it('round-trips a record', () => {
    expect(decodeFailureRecord(encodeFailureRecord(record))).toEqual({ ok: true, value: record });
  });

  it.each([
    ['hash', { ...record, hash: 'f' }, 'hash must be 64 lowercase hex characters (received "f")'],
    ['attempts', { ...record, attempts: '5' }, 'attempts must be a number (received "5")'],
    ['error', { ...record, error: undefined }, 'error must be a string (received nothing)'],
    ['at', { ...record, at: 1_767_225_600_000 }, 'at must be a string (received 1767225600000)'],
    ['the body', null, 'body is not a JSON object (received null)'],
  ])('names a bad %s', (_field, value, reason) => {
    expect(decodeFailureRecord(body(value))).toEqual({ ok: false, reason });
  });

  it('refuses what is not JSON, or too large to be a record', () => {
    expect(decodeFailureRecord(Buffer.from('<Error/>'))).toEqual({ ok: false, reason: 'body is not JSON' });
    expect(decodeFailureRecord(Buffer.alloc(MAX_FAILURE_RECORD_BYTES + 1, 32)).ok).toBe(false);
  });
});
