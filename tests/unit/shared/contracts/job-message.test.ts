import { describe, expect, it } from 'vitest';
import { attemptsFromHeaders, decodeJobMessage, encodeJobMessage, MAX_JOB_BYTES } from '../../../../src/shared/contracts/job-message.js';

const hash = 'a'.repeat(64);
const job = { hash, original_key: `original/${hash}.jpg`, filename: 'photo.jpg', content_type: 'image/jpeg', enqueued_at: '2026-01-01T00:00:00Z' };
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('job message contract', () => {
  it('round-trips a job', () => {
    expect(decodeJobMessage(encodeJobMessage(job))).toEqual({ ok: true, value: job });
  });

  it('accepts the seed’s minimal job (hash, original_key, filename)', () => {
    const decoded = decodeJobMessage(body({ hash, original_key: `original/${hash}.jpg`, filename: 'a.jpg' }));
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
    const decoded = decodeJobMessage(input);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toContain(reason);
  });

  it('fills what the seed left out and cuts the free text', () => {
    const decoded = decodeJobMessage(body({ hash, original_key: `original/${hash}.png`, filename: 'x'.repeat(300), enqueued_at: 7 }));
    expect(decoded).toEqual({
      ok: true,
      value: { hash, original_key: `original/${hash}.png`, filename: 'x'.repeat(255), content_type: 'application/octet-stream', enqueued_at: '' },
    });
  });

  it.each([
    ['hash', { ...job, hash: 42 }, 'hash must be a string (received 42)'],
    ['hash', { ...job, hash: 'not-a-hash' }, 'hash must be 64 lowercase hex characters (received "not-a-hash")'],
    ['original_key', { ...job, original_key: 'x' }, 'original_key must be original/<hash>.<ext> (received "x")'],
    ['filename', { ...job, filename: [] }, 'filename must be a string (received an array)'],
    ['content_type', { ...job, content_type: false }, 'content_type must be a string (received false)'],
    ['the body', 'a string', 'body is not a JSON object (received "a string")'],
  ])('names %s, what it must be and what it was', (_field, value, reason) => {
    expect(decodeJobMessage(body(value))).toEqual({ ok: false, reason });
  });

  it('names every bad field, once each, on one line', () => {
    const decoded = decodeJobMessage(body({ hash: 'A', original_key: 1 }));
    expect(decoded).toEqual({
      ok: false,
      reason: 'hash must be 64 lowercase hex characters (received "A"); original_key must be a string (received 1)',
    });
  });

  it('quotes only the start of a long received string', () => {
    const decoded = decodeJobMessage(body({ ...job, hash: 'z'.repeat(500) }));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toBe(`hash must be 64 lowercase hex characters (received "${'z'.repeat(40)}…")`);
  });

  it('reads attempts from headers defensively', () => {
    expect(attemptsFromHeaders(undefined)).toBe(0);
    expect(attemptsFromHeaders({ 'x-attempts': 3 })).toBe(3);
    expect(attemptsFromHeaders({ 'x-attempts': '2' })).toBe(2);
    expect(attemptsFromHeaders({ 'x-attempts': -1 })).toBe(0);
    expect(attemptsFromHeaders({ 'x-attempts': 'many' })).toBe(0);
  });
});
