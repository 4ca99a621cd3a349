/**
 * The job message: the body of a `watermark_retry` message and the headers that travel with it.
 * The api publishes it when the optimizer cannot take an upload; the worker decodes it trusting
 * nothing. A message that does not decode is poison: it goes to the DLQ with the reason, never retried.
 */
import { z } from 'zod';
import { parseOriginalKey } from '../content-address.js';
import { resultIdFor } from '../watermark/identity.js';
import { jsonCodec, type Decoded } from './decode.js';
import { ImageHashSchema, JSON_OBJECT } from './fields.js';
import { WatermarkSettingsSchema, type WatermarkSettings } from './watermark-settings.js';

/** Bodies larger than this are not jobs: the real ones are a few hundred bytes. */
export const MAX_JOB_BYTES = 8 * 1024;

/**
 * Only `hash` and `original_key` are required (the seed's jobs carried no more): a job without
 * `settings` is made with the worker's `default`, under the id those settings give. The free-text
 * fields are cut to a length a log line and a metadata header can hold; a missing one gets a default.
 */
export const JobMessageSchema = z
  .object(
    {
      /** SHA-256 of the original's bytes. */
      hash: ImageHashSchema,
      /** The result this job makes, as the api named it to the uploader (X-Result-Id, the 202's jobId). */
      result_id: ImageHashSchema.optional(),
      /** The effective settings the api resolved: the worker makes exactly the result the api would have. */
      settings: WatermarkSettingsSchema.optional(),
      original_key: z.string().refine((key) => parseOriginalKey(key) !== undefined, { error: 'must be original/<hash>.<ext>' }),
      filename: z
        .string()
        .optional()
        .transform((name) => name?.slice(0, 255) ?? 'upload'),
      /** MIME type of the original as sniffed at upload. */
      content_type: z
        .string()
        .optional()
        .transform((type) => type?.slice(0, 100) ?? 'application/octet-stream'),
      /** ISO time the api accepted the upload: informative only, so a bad one is dropped, not fatal. */
      enqueued_at: z
        .unknown()
        .optional()
        .transform((at) => (typeof at === 'string' ? at.slice(0, 40) : '')),
    },
    JSON_OBJECT,
  )
  .refine((job) => parseOriginalKey(job.original_key)?.hash === job.hash, {
    error: 'does not belong to hash',
    path: ['original_key'],
    // Only once both fields are valid by themselves: a bad hash is reported once, as a bad hash.
    when: (payload) => payload.issues.length === 0,
  });

export type JobMessage = z.output<typeof JobMessageSchema>;

export const { encode: encodeJobMessage, decode: decodeJobMessage } = jsonCodec(JobMessageSchema, MAX_JOB_BYTES);

/** A job with its settings and result id known: what the worker works on. */
export type Job = JobMessage & { result_id: string; settings: WatermarkSettings };

/**
 * The worker's decoder: a job message, with the worker's `default` for one that names no settings.
 * A result id without settings cannot be honoured (the id names settings the worker cannot know): poison.
 */
export function jobDecoder(defaultSettings: WatermarkSettings): (body: Uint8Array) => Decoded<Job> {
  return (body) => {
    const decoded = decodeJobMessage(body);
    if (!decoded.ok) return decoded;
    const job = decoded.value;
    if (job.settings === undefined && job.result_id !== undefined)
      return { ok: false, reason: 'result_id names settings the job does not carry (received no settings)' };
    const settings = job.settings ?? defaultSettings;
    return { ok: true, value: { ...job, settings, result_id: job.result_id ?? resultIdFor(job.hash, settings) } };
  };
}

/** Number of attempts already made, carried in a header so a republish keeps the count. */
export const ATTEMPT_HEADER = 'x-attempts';
export const CORRELATION_HEADER = 'x-correlation-id';
export const DEAD_LETTER_REASON_HEADER = 'x-dead-letter-reason';
export const DEAD_LETTER_ERROR_HEADER = 'x-dead-letter-error';

/** Lenient on purpose: a garbled count restarts at 0 rather than poisoning a good job. */
export function attemptsFromHeaders(headers: Record<string, unknown> | undefined): number {
  const raw = headers?.[ATTEMPT_HEADER];
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : 0;
  return Number.isInteger(value) && value >= 0 && value < 1_000 ? value : 0;
}
