import { describe, expect, it } from 'vitest';
import { attemptsFromHeaders, decodeJob, encodeJob, MAX_JOB_BYTES } from '../../../src/shared/job.js';

const hash = 'a'.repeat(64);
const job = { hash, original_key: `original/${hash}.jpg`, filename: 'photo.jpg', content_type: 'image/jpeg', enqueued_at: '2026-01-01T00:00:00Z' };
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('job codec', () => {
  it('round-trips a job', () => {
    expect(decodeJob(encodeJob(job))).toEqual({ ok: true, job });
  });

  it('accepts the seed’s minimal job (hash, original_key, filename)', () => {
    const decoded = decodeJob(body({ hash, original_key: `original/${hash}.jpg`, filename: 'a.jpg' }));
    expect(decoded.ok).toBe(true);
  });

  it.each([
    ['not JSON', Buffer.from('{nope'), 'not JSON'],
    ['a JSON array', body([job]), 'not a JSON object'],
    ['null', body(null), 'not a JSON object'],
    ['a missing hash', body({ ...job, hash: undefined }), 'hash'],
    ['an uppercase hash', body({ ...job, hash: hash.toUpperCase() }), 'hash'],
    ['a numeric original_key', body({ ...job, original_key: 42 }), 'original_key must be a string'],
    ['a key outside original/', body({ ...job, original_key: `watermarked/${hash}.jpg` }), 'original/<hash>.<ext>'],
    ['a key climbing out with ../', body({ ...job, original_key: `original/../secret/${hash}.jpg` }), 'original/<hash>.<ext>'],
    ['a key of another hash', body({ ...job, original_key: `original/${'b'.repeat(64)}.jpg` }), 'does not belong'],
    ['a non-string filename', body({ ...job, filename: { a: 1 } }), 'filename'],
    ['a huge body', Buffer.alloc(MAX_JOB_BYTES + 1, 32), 'exceeds'],
  ])('rejects %s with a reason', (_name, input, reason) => {
    const decoded = decodeJob(input);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toContain(reason);
  });

  it('reads attempts from headers defensively', () => {
    expect(attemptsFromHeaders(undefined)).toBe(0);
    expect(attemptsFromHeaders({ 'x-attempts': 3 })).toBe(3);
    expect(attemptsFromHeaders({ 'x-attempts': '2' })).toBe(2);
    expect(attemptsFromHeaders({ 'x-attempts': -1 })).toBe(0);
    expect(attemptsFromHeaders({ 'x-attempts': 'many' })).toBe(0);
  });
});
