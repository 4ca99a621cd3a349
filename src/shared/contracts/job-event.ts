/**
 * The job event: a notification on the `watermark.events` topic exchange, routing key = its type.
 * The api and the worker publish them; every api replica decodes them to wake the browsers
 * following that hash. They are notifications, not the record: the status is read afresh on each.
 */
import { z } from 'zod';
import { jsonCodec } from './decode.js';
import { AttemptsSchema, ImageHashSchema, IsoTimeSchema, JSON_OBJECT } from './fields.js';

export const JOB_EVENT_TYPES = ['job.queued', 'job.retrying', 'job.done', 'job.failed'] as const;

/** An event carries at most one error text (the worker's, a few hundred bytes): far below this. */
export const MAX_EVENT_BYTES = 64 * 1024;

export const JobEventSchema = z.object(
  {
    type: z.enum(JOB_EVENT_TYPES),
    hash: ImageHashSchema,
    /** The upload's correlation id, so one search finds the upload, the job and its events. */
    correlationId: z.string().optional(),
    attempts: AttemptsSchema.optional(),
    error: z.string().optional(),
    at: IsoTimeSchema,
  },
  JSON_OBJECT,
);

export type JobEvent = z.output<typeof JobEventSchema>;

export const { encode: encodeJobEvent, decode: decodeJobEvent } = jsonCodec(JobEventSchema, MAX_EVENT_BYTES);
