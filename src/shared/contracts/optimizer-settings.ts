/**
 * The optimizer's settings view: what `GET /settings` answers, for operators and the chart's checks.
 * Its `default` (what a request without `settings` gets), the logos it can draw with the SHA-256 of
 * their bytes, and its pipeline version: an api whose presets name other logos, or another pipeline
 * version, makes results this optimizer would not make the same way.
 */
import { z } from 'zod';
import { JSON_OBJECT } from './fields.js';
import { LogoRefSchema, WatermarkSettingsSchema } from './watermark-settings.js';

export const OptimizerSettingsSchema = z.object(
  {
    pipelineVersion: z.string().min(1),
    default: WatermarkSettingsSchema,
    logos: z.array(LogoRefSchema),
  },
  JSON_OBJECT,
);

export type OptimizerSettings = z.output<typeof OptimizerSettingsSchema>;
