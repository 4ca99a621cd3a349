/** Field schemas more than one contract carries, worded once: the image hash, an attempt count, a time. */
import { z } from 'zod';
import { isImageHash } from '../content-address.js';

export const ImageHashSchema = z.string().refine(isImageHash, { error: 'must be 64 lowercase hex characters' });

/** Worker attempts so far (the `x-attempts` count): a whole number, 0 before the first. */
export const AttemptsSchema = z.number().int().nonnegative();

/** An ISO-8601 UTC time as `Date.toISOString` writes it. */
export const IsoTimeSchema = z.iso.datetime();

/** The schema-level wording for a body that is not an object at all. */
export const JSON_OBJECT = { error: 'is not a JSON object' } as const;
