/**
 * The accepted job: the body of `202 Accepted` from `POST /upload` when the optimizer could not
 * take the image and the job was confirmed by the broker. The client follows `statusUrl` (or
 * `/events/{jobId}`) until the job is done or failed. The api builds it here; the web page imports
 * the type only.
 */
import { z } from 'zod';
import { ImageHashSchema, JSON_OBJECT } from './fields.js';
import { WatermarkSettingsSchema, type WatermarkSettings } from './watermark-settings.js';

export const AcceptedJobSchema = z.object(
  {
    /** The job's id: the id of the result it makes (X-Result-Id). */
    jobId: ImageHashSchema,
    /** The SHA-256 of the uploaded bytes (X-Image-Hash): the original, stored once for every result of it. */
    imageHash: ImageHashSchema,
    status: z.literal('pending'),
    /** Where to follow it: `/status/{jobId}`. */
    statusUrl: z.string(),
    /** The effective settings the job applies. */
    settings: WatermarkSettingsSchema,
  },
  JSON_OBJECT,
);

export type AcceptedJob = z.output<typeof AcceptedJobSchema>;

/** The 202 body for a job, in the one shape clients read. */
export function acceptedJob(resultId: string, imageHash: string, settings: WatermarkSettings): AcceptedJob {
  return { jobId: resultId, imageHash, status: 'pending', statusUrl: `/status/${resultId}`, settings };
}
