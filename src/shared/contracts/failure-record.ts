/**
 * The failure record: `failed/<hash>.json` in the object store. The worker writes it when it
 * dead-letters a job for good; the api reads it when Redis has lost the job's state, so a failed
 * job still answers `failed` (with its error) after a Redis flush.
 */
import { z } from 'zod';
import { jsonCodec } from './decode.js';
import { AttemptsSchema, ImageHashSchema, IsoTimeSchema, JSON_OBJECT } from './fields.js';

/** A record holds one error text: anything this large was not written by the worker. */
export const MAX_FAILURE_RECORD_BYTES = 64 * 1024;

export const FailureRecordSchema = z.object(
  {
    hash: ImageHashSchema,
    /** Attempts the job had when it was given up. */
    attempts: AttemptsSchema,
    error: z.string(),
    /** When the worker gave up. */
    at: IsoTimeSchema,
  },
  JSON_OBJECT,
);

export type FailureRecord = z.output<typeof FailureRecordSchema>;

export const { encode: encodeFailureRecord, decode: decodeFailureRecord } = jsonCodec(FailureRecordSchema, MAX_FAILURE_RECORD_BYTES);
