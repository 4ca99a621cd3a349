/**
 * The retry job message (messaging contract): encoding, and decoding that trusts nothing.
 * A message that fails decoding is poison and goes to the DLQ with the reason; it is never retried.
 */
import { isImageHash, parseOriginalKey } from './content-address.js';

export interface RetryJob {
  hash: string;
  original_key: string;
  filename: string;
  /** MIME type of the original as sniffed at upload. */
  content_type: string;
  /** ISO time the api accepted the upload. */
  enqueued_at: string;
}

/** Bodies larger than this are not jobs: the real ones are a few hundred bytes. */
export const MAX_JOB_BYTES = 8 * 1024;

export type DecodeResult = { ok: true; job: RetryJob } | { ok: false; reason: string };

export function encodeJob(job: RetryJob): Buffer {
  return Buffer.from(JSON.stringify(job));
}

export function decodeJob(body: Uint8Array): DecodeResult {
  if (body.byteLength > MAX_JOB_BYTES) return { ok: false, reason: `body of ${body.byteLength} bytes exceeds ${MAX_JOB_BYTES}` };
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'body is not a JSON object' };
  const record = value as Record<string, unknown>;
  if (!isImageHash(record.hash)) return { ok: false, reason: 'hash must be 64 lowercase hex characters' };
  if (typeof record.original_key !== 'string') return { ok: false, reason: 'original_key must be a string' };
  const key = parseOriginalKey(record.original_key);
  if (!key) return { ok: false, reason: 'original_key must be original/<hash>.<ext>' };
  if (key.hash !== record.hash) return { ok: false, reason: 'original_key does not belong to hash' };
  if (record.filename !== undefined && typeof record.filename !== 'string') return { ok: false, reason: 'filename must be a string' };
  if (record.content_type !== undefined && typeof record.content_type !== 'string') return { ok: false, reason: 'content_type must be a string' };
  return {
    ok: true,
    job: {
      hash: record.hash,
      original_key: record.original_key,
      filename: typeof record.filename === 'string' ? record.filename.slice(0, 255) : 'upload',
      content_type: typeof record.content_type === 'string' ? record.content_type.slice(0, 100) : 'application/octet-stream',
      enqueued_at: typeof record.enqueued_at === 'string' ? record.enqueued_at.slice(0, 40) : '',
    },
  };
}

/** Number of attempts already made, carried in a header so a republish keeps the count. */
export const ATTEMPT_HEADER = 'x-attempts';
export const CORRELATION_HEADER = 'x-correlation-id';
export const DEAD_LETTER_REASON_HEADER = 'x-dead-letter-reason';
export const DEAD_LETTER_ERROR_HEADER = 'x-dead-letter-error';

export function attemptsFromHeaders(headers: Record<string, unknown> | undefined): number {
  const raw = headers?.[ATTEMPT_HEADER];
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : 0;
  return Number.isInteger(value) && value >= 0 && value < 1_000 ? value : 0;
}

/** The events on the `watermark.events` topic exchange; the routing key is the type. */
export type JobEventType = 'job.queued' | 'job.retrying' | 'job.done' | 'job.failed';

export interface JobEvent {
  type: JobEventType;
  hash: string;
  /** The upload's correlation id, so one search finds the upload, the job and its events. */
  correlationId?: string;
  attempts?: number;
  error?: string;
  at: string;
}
