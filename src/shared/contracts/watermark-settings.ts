/**
 * The effective watermark settings of one result: the preset plus the upload's overrides, resolved
 * by the api (shared/watermark/options.ts). They travel to the optimizer with each image (the
 * `settings` field of `POST /optimize`) and to the worker inside the job message, so whoever makes
 * a result makes exactly the one the api named. Decoded with this schema wherever they enter.
 *
 * `format` here is what the encoder does: `auto` has already been negotiated from `Accept`, and
 * what is left of it means "JPEG, or PNG when the image has an alpha channel", which the image alone
 * decides. The web page imports the types only.
 */
import { z } from 'zod';
import { JSON_OBJECT } from './fields.js';

export const GRAVITIES = ['north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'center'] as const;
export type Gravity = (typeof GRAVITIES)[number];

export const OUTPUT_FORMATS = ['auto', 'jpeg', 'png', 'webp', 'avif'] as const;
export type OutputFormatSetting = (typeof OUTPUT_FORMATS)[number];

export const OUTPUT_EFFORTS = ['fast', 'balanced', 'max'] as const;
export type OutputEffort = (typeof OUTPUT_EFFORTS)[number];

/** Bounds of every setting, whatever a preset allows: what the pipeline can draw sensibly. */
export const SETTING_LIMITS = {
  textLength: 200,
  offsetPx: 10_000,
  offsetPercent: 50,
  rotate: 360,
  spacing: 20,
  maxEdge: { min: 16, max: 16_384 },
} as const;

/**
 * A margin from the edge the gravity names: whole pixels (`24px`) or a share of the image's width
 * (x) or height (y) with at most two decimals (`2.5%`). Canonical: no sign, no leading zeros.
 */
export const LENGTH_PATTERN = /^(0|[1-9]\d*)px$|^(0|[1-9]\d*)(\.\d{1,2})?%$/;

export const LengthSchema = z
  .string()
  .regex(LENGTH_PATTERN, { error: 'must be a length such as "24px" or "2.5%"' })
  .refine((length) => withinLengthLimits(parseLength(length)), {
    error: `must be at most ${SETTING_LIMITS.offsetPx}px or ${SETTING_LIMITS.offsetPercent}%`,
  });

export interface Length {
  value: number;
  unit: 'px' | '%';
}

/** A string of LENGTH_PATTERN as a number and its unit. */
export function parseLength(length: string): Length {
  return length.endsWith('%') ? { value: Number(length.slice(0, -1)), unit: '%' } : { value: Number(length.slice(0, -2)), unit: 'px' };
}

export function withinLengthLimits({ value, unit }: Length): boolean {
  return value <= (unit === 'px' ? SETTING_LIMITS.offsetPx : SETTING_LIMITS.offsetPercent);
}

/** A registered logo, by name, and the SHA-256 of its bytes: a new file under the same name is a new result. */
export const LogoRefSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type LogoRef = z.output<typeof LogoRefSchema>;

export const WatermarkSettingsSchema = z.strictObject(
  {
    /** Drawn white with a dark outline; '' draws no text. */
    text: z.string().max(SETTING_LIMITS.textLength),
    /** Drawn left of the text. */
    logo: LogoRefSchema.nullable(),
    position: z.enum(GRAVITIES),
    /** Margins from the edges `position` names; on a centred axis the mark stays centred. */
    offsetX: LengthSchema,
    offsetY: LengthSchema,
    /** 0 (invisible) … 1 (opaque). */
    opacity: z.number().min(0).max(1),
    /** The mark's width as a share of the image's width; null: sized from the image's short edge. */
    scale: z.number().gt(0).max(1).nullable(),
    /** Degrees, clockwise. */
    rotate: z.number().min(-SETTING_LIMITS.rotate).max(SETTING_LIMITS.rotate),
    /** The mark repeated over the whole image; position and offsets then do not apply. */
    tile: z.boolean(),
    /** Gap between tiled marks, in multiples of the text's size. */
    spacing: z.number().min(0).max(SETTING_LIMITS.spacing),
    format: z.enum(OUTPUT_FORMATS),
    /** Encoder quality 1…100 for JPEG, WebP and AVIF (PNG is lossless). */
    quality: z.number().int().min(1).max(100),
    /** How hard the encoder works for smaller files (optimizer/encode.ts). */
    effort: z.enum(OUTPUT_EFFORTS),
    /** The output fits inside maxEdge × maxEdge; smaller images are never enlarged. */
    maxEdge: z.number().int().min(SETTING_LIMITS.maxEdge.min).max(SETTING_LIMITS.maxEdge.max),
  },
  JSON_OBJECT,
);

export type WatermarkSettings = z.output<typeof WatermarkSettingsSchema>;

/** The options an upload may send to override a setting (plus `preset`, which picks the base). */
export const OVERRIDABLE_OPTIONS = [
  'text',
  'logo',
  'position',
  'offsetX',
  'offsetY',
  'opacity',
  'scale',
  'rotate',
  'tile',
  'spacing',
  'format',
  'quality',
  'maxEdge',
] as const;

/** The names of the settings, in their canonical order (shared/watermark/identity.ts). */
export const SETTING_NAMES = Object.keys(WatermarkSettingsSchema.shape) as (keyof WatermarkSettings)[];
