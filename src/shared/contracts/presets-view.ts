/**
 * The presets view: what `GET /presets` answers (api → web page and any client). Each preset's
 * settings, and per option what an upload may send: a text length, a list of values, a numeric
 * range, any length (offsets) or a boolean. An option a preset does not list may not be sent with it.
 * The web page imports the types only.
 */
import { z } from 'zod';
import { JSON_OBJECT } from './fields.js';
import { WatermarkSettingsSchema } from './watermark-settings.js';

export const AllowRuleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('text'), maxLength: z.number().int().positive() }),
  z.strictObject({ kind: z.literal('values'), values: z.array(z.string()) }),
  z.strictObject({ kind: z.literal('range'), min: z.number(), max: z.number(), integer: z.boolean() }),
  z.strictObject({ kind: z.literal('length') }),
  z.strictObject({ kind: z.literal('boolean') }),
]);

export const PresetsViewSchema = z.object(
  {
    presets: z.array(
      z.strictObject({
        name: z.string(),
        description: z.string().optional(),
        settings: WatermarkSettingsSchema,
        /** Option name → what it may be; only these options may be sent with this preset. */
        allows: z.record(z.string(), AllowRuleSchema),
      }),
    ),
    logos: z.array(z.string()),
  },
  JSON_OBJECT,
);

export type PresetsView = z.output<typeof PresetsViewSchema>;
