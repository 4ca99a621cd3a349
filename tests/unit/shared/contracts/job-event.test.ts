import { describe, expect, it } from 'vitest';
import { decodeJobEvent, encodeJobEvent, MAX_EVENT_BYTES, type JobEvent } from '../../../../src/shared/contracts/job-event.js';

const hash = 'c'.repeat(64);
const event: JobEvent = {
  type: 'job.retrying',
  hash,
  correlationId: 'req-12345678',
  attempts: 2,
  error: 'optimizer timed out',
  at: '2026-01-01T00:00:00.000Z',
};
const body = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('job event contract', () => {
  it('round-trips an event', () => {
    expect(decodeJobEvent(encodeJobEvent(event))).toEqual({ ok: true, value: event });
  });

  it('needs only the type, the hash and the time', () => {
    expect(decodeJobEvent(body({ type: 'job.queued', hash, at: event.at }))).toEqual({ ok: true, value: { type: 'job.queued', hash, at: event.at } });
  });

  it.each([
    ['type', { ...event, type: 'job.lost' }, 'type must be one of "job.queued", "job.retrying", "job.done", "job.failed" (received "job.lost")'],
    ['hash', { ...event, hash: 'abc' }, 'hash must be 64 lowercase hex characters (received "abc")'],
    ['correlationId', { ...event, correlationId: 12 }, 'correlationId must be a string (received 12)'],
    ['attempts', { ...event, attempts: -1 }, 'attempts must be at least 0 (received -1)'],
    ['attempts', { ...event, attempts: 1.5 }, 'attempts must be an integer (received 1.5)'],
    ['error', { ...event, error: { message: 'x' } }, 'error must be a string (received an object)'],
    ['at', { ...event, at: 'yesterday' }, 'at must be an ISO date-time (received "yesterday")'],
    ['at', { ...event, at: undefined }, 'at must be a string (received nothing)'],
    ['the body', [event], 'body is not a JSON object (received an array)'],
  ])('names a bad %s', (_field, value, reason) => {
    expect(decodeJobEvent(body(value))).toEqual({ ok: false, reason });
  });

  it('refuses what is not JSON, or too large to be an event', () => {
    expect(decodeJobEvent(Buffer.from('job.done'))).toEqual({ ok: false, reason: 'body is not JSON' });
    expect(decodeJobEvent(Buffer.alloc(MAX_EVENT_BYTES + 1, 32))).toEqual({
      ok: false,
      reason: `body of ${MAX_EVENT_BYTES + 1} bytes exceeds ${MAX_EVENT_BYTES}`,
    });
  });
});
