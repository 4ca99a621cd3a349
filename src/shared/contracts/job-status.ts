/**
 * The status view: what `GET /status/{hash}` answers and what each `event: status` of
 * `GET /events/{hash}` carries, as the web page reads it. The api builds it from the job record
 * (Redis) or, when Redis lost it, from the object store. `JobState` is its `status` field alone.
 *
 * The web page imports the types only (`import type`), so no zod reaches the browser bundle.
 */
import { z } from 'zod';
import { AttemptsSchema, JSON_OBJECT } from './fields.js';

export const JOB_STATES = ['pending', 'done', 'failed'] as const;

export const JobStateSchema = z.enum(JOB_STATES);

export type JobState = z.output<typeof JobStateSchema>;

export const JobStatusSchema = z.object(
  {
    status: JobStateSchema,
    /** Where the watermarked image is, once done: `/image/{hash}`. */
    url: z.string().optional(),
    /** The same, signed (`?expires=…&sig=…`): readable without an API key until it expires. Only when URL signing is on. */
    signedUrl: z.string().optional(),
    /** Worker attempts so far; absent when the api answered from the object store alone. */
    attempts: AttemptsSchema.optional(),
    /** The last error: why it failed, or why the pending job is being retried. */
    error: z.string().optional(),
  },
  JSON_OBJECT,
);

export type JobStatus = z.output<typeof JobStatusSchema>;
