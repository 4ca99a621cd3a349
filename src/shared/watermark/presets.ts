/**
 * The operator's presets: named watermark settings, and what an upload may override in each and
 * within which bounds. `default` comes from the WATERMARK_* and OUTPUT_* variables, so a deployment
 * without a presets file behaves as before; `PRESETS_FILE` adds presets (or redefines `default`),
 * each field it leaves out taking the variables' value. Pure: reading files is presets-file.ts's job.
 */
import { z } from 'zod';
import { decodeWithIssues, type DecodeIssue } from '../contracts/decode.js';
import type { AllowRuleSchema } from '../contracts/presets-view.js';
import {
  GRAVITIES,
  LengthSchema,
  OUTPUT_EFFORTS,
  OUTPUT_FORMATS,
  OVERRIDABLE_OPTIONS,
  SETTING_LIMITS,
  WatermarkSettingsSchema,
  type WatermarkSettings,
} from '../contracts/watermark-settings.js';
import type { WatermarkConfig } from '../config.js';
import type { LogoRegistry } from './logos.js';

export const DEFAULT_PRESET = 'default';

/** What an upload may name, in the order the README and `GET /presets` list them. */
export const OPTION_NAMES = ['preset', ...OVERRIDABLE_OPTIONS] as const;
export type OptionName = (typeof OPTION_NAMES)[number];
/** The options that override a setting (all but `preset`). */
export type OverridableOption = (typeof OVERRIDABLE_OPTIONS)[number];

/** What a preset lets an upload change in one option, with every bound made explicit (the `/presets` contract's shape). */
export type AllowRule = z.output<typeof AllowRuleSchema>;

export type AllowRules = Partial<Record<OverridableOption, AllowRule>>;

export interface Preset {
  readonly name: string;
  readonly description?: string;
  readonly settings: WatermarkSettings;
  readonly allow: AllowRules;
}

export interface PresetCatalog {
  readonly presets: ReadonlyMap<string, Preset>;
  readonly logos: LogoRegistry;
}

/** The full range of each numeric option: what `true` allows, and what a `{min, max}` must stay within. */
const RANGES = {
  opacity: { min: 0, max: 1, integer: false },
  scale: { min: 0.01, max: 1, integer: false },
  rotate: { min: -SETTING_LIMITS.rotate, max: SETTING_LIMITS.rotate, integer: false },
  spacing: { min: 0, max: SETTING_LIMITS.spacing, integer: false },
  quality: { min: 1, max: 100, integer: true },
  maxEdge: { ...SETTING_LIMITS.maxEdge, integer: true },
} as const;
type RangeOption = keyof typeof RANGES;

const presetName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { error: 'must be a name of lowercase letters, digits, "_" or "-"' });
const logoName = presetName;

const rangeAllow = (option: RangeOption) => {
  const { min, max, integer } = RANGES[option];
  const bound = (integer ? z.number().int() : z.number()).min(min).max(max);
  return z
    .union([z.literal(true), z.strictObject({ min: bound.optional(), max: bound.optional() })])
    .refine((v) => v === true || (v.min ?? min) <= (v.max ?? max), {
      error: 'must have min at most max',
    });
};
const valuesAllow = <T extends readonly [string, ...string[]]>(values: T) => z.union([z.literal(true), z.array(z.enum(values)).min(1)]);

const AllowSchema = z.strictObject({
  text: z.union([z.literal(true), z.strictObject({ maxLength: z.number().int().min(1).max(SETTING_LIMITS.textLength) })]).optional(),
  logo: z.union([z.literal(true), z.array(z.union([logoName, z.literal('none')])).min(1)]).optional(),
  position: valuesAllow(GRAVITIES).optional(),
  offsetX: z.literal(true).optional(),
  offsetY: z.literal(true).optional(),
  opacity: rangeAllow('opacity').optional(),
  scale: rangeAllow('scale').optional(),
  rotate: rangeAllow('rotate').optional(),
  tile: z.literal(true).optional(),
  spacing: rangeAllow('spacing').optional(),
  format: valuesAllow(OUTPUT_FORMATS).optional(),
  quality: rangeAllow('quality').optional(),
  maxEdge: rangeAllow('maxEdge').optional(),
});
type AllowDocument = z.output<typeof AllowSchema>;

/** A length as a file may write it: `"24px"`, `"2.5%"`, or a bare number of pixels. */
const lengthField = z.union([
  z
    .number()
    .int()
    .min(0)
    .max(SETTING_LIMITS.offsetPx)
    .transform((px) => `${px}px`),
  LengthSchema,
]);

const PresetDocumentSchema = z.strictObject({
  description: z.string().max(200).optional(),
  text: z.string().max(SETTING_LIMITS.textLength).optional(),
  logo: z.union([logoName, z.null()]).optional(),
  position: z.enum(GRAVITIES).optional(),
  offsetX: lengthField.optional(),
  offsetY: lengthField.optional(),
  opacity: WatermarkSettingsSchema.shape.opacity.optional(),
  scale: WatermarkSettingsSchema.shape.scale.optional(),
  rotate: WatermarkSettingsSchema.shape.rotate.optional(),
  tile: z.boolean().optional(),
  spacing: WatermarkSettingsSchema.shape.spacing.optional(),
  format: z.enum(OUTPUT_FORMATS).optional(),
  quality: WatermarkSettingsSchema.shape.quality.optional(),
  effort: z.enum(OUTPUT_EFFORTS).optional(),
  maxEdge: WatermarkSettingsSchema.shape.maxEdge.optional(),
  allow: AllowSchema.optional(),
});
type PresetDocument = z.output<typeof PresetDocumentSchema>;

/** The file: logos by name (paths relative to the file) and presets by name. */
const PresetsFileSchema = z.strictObject({
  logos: z.record(logoName, z.string().min(1)).optional(),
  presets: z.record(presetName, PresetDocumentSchema),
});

export function defaultPreset(catalog: PresetCatalog): Preset {
  const preset = catalog.presets.get(DEFAULT_PRESET);
  if (!preset) throw new Error('the preset catalogue has no default');
  return preset;
}

/** A presets file that does not hold: every fault, each naming the preset, the field, what was expected and what was received. */
export class PresetsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'PresetsError';
  }
}

/** `default` as the WATERMARK_* and OUTPUT_* variables define it. `logo` is the registered name of WATERMARK_LOGO_PATH, if any. */
export function settingsFromEnv(config: WatermarkConfig, logos: LogoRegistry): WatermarkSettings {
  const margin = `${config.WATERMARK_MARGIN}px`;
  const logo = logos.get(ENV_LOGO);
  return {
    text: config.WATERMARK_TEXT,
    logo: logo ? { name: ENV_LOGO, sha256: logo.sha256 } : null,
    position: config.WATERMARK_POSITION,
    offsetX: margin,
    offsetY: margin,
    opacity: config.WATERMARK_OPACITY,
    scale: null,
    // The tiled mark has always run at -30°, the single one level.
    rotate: config.WATERMARK_TILED ? -30 : 0,
    tile: config.WATERMARK_TILED,
    spacing: 3,
    format: config.OUTPUT_FORMAT,
    quality: config.OUTPUT_QUALITY,
    effort: config.OUTPUT_EFFORT,
    maxEdge: config.RESIZE_MAX_EDGE,
  };
}

/**
 * What `default` lets an upload change when the variables define it (DEFAULT_PRESET_ALLOWS): each
 * named option over its full range, but the longest edge bounded by RESIZE_MAX_EDGE (an upload never
 * costs more pixels than the operator's own setting) and the opacity from MIN_UPLOAD_OPACITY.
 */
export function allowFromEnv(config: WatermarkConfig, logos: LogoRegistry): AllowRules {
  const document: AllowDocument = {};
  for (const option of config.DEFAULT_PRESET_ALLOWS) {
    if (option === 'maxEdge') document.maxEdge = { max: config.RESIZE_MAX_EDGE };
    // An opacity of 0 would be an image without its mark: the least an upload may ask is faint, not gone.
    else if (option === 'opacity') document.opacity = { min: MIN_UPLOAD_OPACITY };
    else document[option] = true;
  }
  return allowRules(document, logos);
}

/** The faintest mark an upload may ask of `default`. */
const MIN_UPLOAD_OPACITY = 0.1;

/** The registered name of WATERMARK_LOGO_PATH's logo. */
export const ENV_LOGO = 'logo';

/**
 * The catalogue from the variables' `default` and a parsed presets file (undefined without one).
 * Throws a PresetsError listing every fault of the file.
 */
export function buildCatalog(envDefault: WatermarkSettings, file: unknown, logos: LogoRegistry, envAllow: AllowRules = {}): PresetCatalog {
  const presets = new Map<string, Preset>([[DEFAULT_PRESET, { name: DEFAULT_PRESET, settings: envDefault, allow: envAllow }]]);
  if (file === undefined) return { presets, logos };
  const decoded = decodeWithIssues(PresetsFileSchema, file);
  if (!decoded.ok) throw new PresetsError(decoded.issues.map(describeIssue));
  const problems: string[] = [];
  for (const [name, document] of Object.entries(decoded.value.presets)) {
    const preset = resolvePreset(name, document, envDefault, logos, problems);
    if (preset) presets.set(name, preset);
  }
  if (problems.length > 0) throw new PresetsError(problems);
  return { presets, logos };
}

function resolvePreset(name: string, document: PresetDocument, base: WatermarkSettings, logos: LogoRegistry, problems: string[]): Preset | undefined {
  const where = (field: string) => `preset "${name}", field "${field}"`;
  const before = problems.length;
  const { description, allow, logo, ...fields } = document;
  let logoRef = base.logo;
  if (logo !== undefined) {
    const registered = logo === null ? undefined : logos.get(logo);
    if (logo !== null && !registered)
      problems.push(`${where('logo')}: expected one of the registered logos (${namesOf(logos)}), received ${JSON.stringify(logo)}`);
    logoRef = logo === null || !registered ? null : { name: logo, sha256: registered.sha256 };
  }
  for (const allowed of allow?.logo === true || allow?.logo === undefined ? [] : allow.logo) {
    if (allowed !== 'none' && !logos.has(allowed)) {
      problems.push(`${where('allow.logo')}: expected registered logos (${namesOf(logos)}), received ${JSON.stringify(allowed)}`);
    }
  }
  if (problems.length > before) return undefined;
  const settings: WatermarkSettings = { ...base, ...definedOnly(fields), logo: logoRef };
  return { name, ...(description !== undefined ? { description } : {}), settings, allow: allowRules(allow ?? {}, logos) };
}

/** `allow` with `true` spelled out as the option's full range or every value. */
export function allowRules(allow: AllowDocument, logos: LogoRegistry): AllowRules {
  const rules: AllowRules = {};
  if (allow.text !== undefined) rules.text = { kind: 'text', maxLength: allow.text === true ? SETTING_LIMITS.textLength : allow.text.maxLength };
  if (allow.logo !== undefined) rules.logo = { kind: 'values', values: allow.logo === true ? [...logos.keys(), 'none'] : [...allow.logo] };
  if (allow.position !== undefined) rules.position = { kind: 'values', values: allow.position === true ? [...GRAVITIES] : [...allow.position] };
  if (allow.format !== undefined) rules.format = { kind: 'values', values: allow.format === true ? [...OUTPUT_FORMATS] : [...allow.format] };
  if (allow.offsetX) rules.offsetX = { kind: 'length' };
  if (allow.offsetY) rules.offsetY = { kind: 'length' };
  if (allow.tile) rules.tile = { kind: 'boolean' };
  for (const option of Object.keys(RANGES) as RangeOption[]) {
    const value = allow[option];
    if (value === undefined) continue;
    const full = RANGES[option];
    rules[option] =
      value === true ? { kind: 'range', ...full } : { kind: 'range', min: value.min ?? full.min, max: value.max ?? full.max, integer: full.integer };
  }
  return rules;
}

function describeIssue(issue: DecodeIssue): string {
  const [top, name, field, ...rest] = issue.path.map(String);
  if (top === 'presets' && name !== undefined) {
    const where = field === undefined ? `preset "${name}"` : `preset "${name}", field "${[field, ...rest].join('.')}"`;
    return `${where}: expected it to ${issue.message.replace(/^must /, '')}, received ${issue.received}`;
  }
  return `field "${issue.field}": expected it to ${issue.message.replace(/^must /, '')}, received ${issue.received}`;
}

function namesOf(logos: LogoRegistry): string {
  return logos.size === 0 ? 'none registered' : [...logos.keys()].join(', ');
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
