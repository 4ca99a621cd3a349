/**
 * The optimizer's settings view: what `GET /settings` answers (optimizer → api, and any operator
 * who asks). The watermark settings without the logo's bytes, plus their fingerprint, which the api
 * keys cached results by. The api decodes it with this schema where it enters.
 */
import { z } from 'zod';
import { JSON_OBJECT } from './fields.js';

export const OptimizerSettingsSchema = z.object(
  {
    /** SHA-256 of the settings, the logo and the pipeline version: a result's cache identity. */
    fingerprint: z.string().min(1),
    text: z.string(),
    /** sharp gravity name (`WATERMARK_POSITION`). */
    position: z.string(),
    opacity: z.number(),
    margin: z.number(),
    tiled: z.boolean(),
    maxEdge: z.number().int().positive(),
    /** `auto`, `jpeg`, `png`, `webp` or `avif` (`OUTPUT_FORMAT`). */
    format: z.string(),
    quality: z.number().int(),
    /** Whether a logo is drawn beside the text. */
    logo: z.boolean(),
  },
  JSON_OBJECT,
);

export type OptimizerSettings = z.output<typeof OptimizerSettingsSchema>;
