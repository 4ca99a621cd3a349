/**
 * The job decoder over generated input: whatever a queue holds — bytes, any JSON, a real job with
 * any field swapped for any value — it answers a job or a reason, never throws, and every job it
 * answers holds the contract's invariants (the key is the hash's own original).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseOriginalKey } from '../../../../src/shared/content-address.js';
import { attemptsFromHeaders, decodeJobMessage, encodeJobMessage, MAX_JOB_BYTES, type JobMessage } from '../../../../src/shared/contracts/job-message.js';

const hash = 'c'.repeat(64);
const job: JobMessage = { hash, original_key: `original/${hash}.jpg`, filename: 'photo.jpg', content_type: 'image/jpeg', enqueued_at: '2026-01-01T00:00:00Z' };

function expectJobOrReason(input: Buffer): void {
  const decoded = decodeJobMessage(input);
  if (!decoded.ok) {
    expect(decoded.reason.length).toBeGreaterThan(0);
    return;
  }
  const { value } = decoded;
  expect(value.hash).toMatch(/^[0-9a-f]{64}$/);
  expect(parseOriginalKey(value.original_key)?.hash).toBe(value.hash);
  expect(value.filename.length).toBeLessThanOrEqual(255);
  // What was decoded encodes back to a message the decoder takes as it is.
  expect(decodeJobMessage(encodeJobMessage(value))).toEqual({ ok: true, value });
}

describe('decodeJobMessage, over generated messages', () => {
  it('answers a job or a reason for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2 * MAX_JOB_BYTES }), (bytes) => expectJobOrReason(Buffer.from(bytes))),
      { numRuns: 500 },
    );
  });

  it('answers a job or a reason for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => expectJobOrReason(Buffer.from(JSON.stringify(value) ?? 'null'))),
      { numRuns: 500 },
    );
  });

  it('answers a job or a reason for a real job with any field swapped, added or removed', () => {
    const field = fc.constantFrom('hash', 'original_key', 'filename', 'content_type', 'enqueued_at', '__proto__', 'constructor', 'extra');
    fc.assert(
      fc.property(fc.array(fc.tuple(field, fc.option(fc.jsonValue(), { nil: undefined })), { maxLength: 5 }), (changes) => {
        const mutated: Record<string, unknown> = { ...job };
        for (const [name, value] of changes) {
          if (value === undefined) Reflect.deleteProperty(mutated, name);
          else Object.defineProperty(mutated, name, { value, enumerable: true, configurable: true, writable: true });
        }
        expectJobOrReason(Buffer.from(JSON.stringify(mutated)));
      }),
      { numRuns: 500 },
    );
  });

  it('reads the attempt count from any headers as a small non-negative integer', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('x-attempts', 'x-other'), fc.anything()), (headers) => {
        const attempts = attemptsFromHeaders(headers);
        expect(Number.isInteger(attempts) && attempts >= 0 && attempts < 1_000).toBe(true);
      }),
    );
  });
});
