/**
 * An upload's options (multipart text fields and query parameters, as strings) against the
 * operator's presets: the effective settings, or every option at fault with what was expected and
 * what was received. `format=auto` is negotiated here from `Accept`, so the settings, and the
 * result id made from them, name the format actually produced. Pure.
 */
import { LENGTH_PATTERN, parseLength, withinLengthLimits, type WatermarkSettings } from '../contracts/watermark-settings.js';
import { negotiateFormat } from './negotiate.js';
import { DEFAULT_PRESET, OPTION_NAMES, type AllowRule, type OptionName, type OverridableOption, type Preset, type PresetCatalog } from './presets.js';

export interface OptionIssue {
  /** The option's name as the client sent it (bounded for echoing). */
  field: string;
  expected: string;
  received: string;
}

export type ResolvedOptions =
  | {
      ok: true;
      preset: Preset;
      settings: WatermarkSettings;
      /** The format came from `Accept`: the answer must say `Vary: Accept`. */
      negotiated: boolean;
    }
  | { ok: false; issues: OptionIssue[] };

/** Longest part of a received value echoed in an issue. */
const ECHO_CHARS = 40;

/**
 * `given`: each option as received, in order, possibly twice (a field and a query parameter):
 * a name given twice is an issue, not a silent choice between them.
 */
export function resolveOptions(given: readonly (readonly [string, string])[], catalog: PresetCatalog, accept: string | undefined): ResolvedOptions {
  const issues: OptionIssue[] = [];
  const values = new Map<OptionName, string>();
  for (const [name, value] of given) {
    if (!isOptionName(name)) {
      issues.push({ field: echo(name), expected: `one of the options ${OPTION_NAMES.join(', ')}`, received: 'an unknown option' });
    } else if (values.has(name)) {
      issues.push({ field: name, expected: 'one value', received: 'it more than once (as a field and a query parameter, or twice)' });
    } else {
      values.set(name, value);
    }
  }

  const presetName = values.get('preset') ?? DEFAULT_PRESET;
  const preset = catalog.presets.get(presetName);
  if (!preset) {
    issues.push({ field: 'preset', expected: `one of ${[...catalog.presets.keys()].join(', ')}`, received: quote(presetName) });
    return { ok: false, issues };
  }

  const overrides: Partial<WatermarkSettings> = {};
  for (const [name, raw] of values) {
    if (name === 'preset') continue;
    const rule = preset.allow[name];
    if (!rule) {
      const allowed = Object.keys(preset.allow);
      issues.push({
        field: name,
        expected: `no ${name}: preset "${preset.name}" allows ${allowed.length === 0 ? 'no override' : `only ${allowed.join(', ')}`}`,
        received: quote(raw),
      });
      continue;
    }
    const parsed = parseOption(name, raw, rule, catalog);
    if ('issue' in parsed) issues.push({ field: name, expected: parsed.issue, received: quote(raw) });
    else Object.assign(overrides, parsed.value);
  }
  if (issues.length > 0) return { ok: false, issues };

  const settings: WatermarkSettings = { ...preset.settings, ...overrides };
  if (settings.format !== 'auto') return { ok: true, preset, settings, negotiated: false };
  return { ok: true, preset, settings: { ...settings, format: negotiateFormat(accept) }, negotiated: true };
}

/** Every issue in one sentence, for a problem's `detail`. */
export function describeOptionIssues(issues: readonly OptionIssue[]): string {
  return `Invalid options: ${issues.map((issue) => `${issue.field}: expected ${issue.expected}, received ${issue.received}`).join('; ')}`;
}

type Parsed = { value: Partial<WatermarkSettings> } | { issue: string };

function parseOption(name: OverridableOption, raw: string, rule: AllowRule, catalog: PresetCatalog): Parsed {
  switch (rule.kind) {
    case 'text': {
      const length = Array.from(raw).length;
      // A text that draws nothing would be an image without its mark: letters, digits or signs, no control characters.
      if (CONTROL_CHARACTERS.test(raw) || !VISIBLE_CHARACTER.test(raw))
        return { issue: 'a text with at least one visible character and no control characters' };
      return length <= rule.maxLength ? { value: { text: raw } } : { issue: `a text of at most ${rule.maxLength} characters (got ${length})` };
    }
    case 'values': {
      if (!rule.values.includes(raw)) return { issue: `one of ${rule.values.join(', ')}` };
      if (name === 'logo') {
        const logo = catalog.logos.get(raw);
        return { value: { logo: logo ? { name: raw, sha256: logo.sha256 } : null } };
      }
      return { value: { [name]: raw } };
    }
    case 'length': {
      const length = /^\d+$/.test(raw) ? `${Number(raw)}px` : raw;
      if (!LENGTH_PATTERN.test(length) || !withinLengthLimits(parseLength(length)))
        return { issue: 'a length from 0px to 10000px or 0% to 50%, e.g. "24px" or "2.5%"' };
      return { value: { [name]: canonicalLength(length) } };
    }
    case 'boolean': {
      const value = BOOLEANS[raw];
      return value === undefined ? { issue: 'true or false' } : { value: { [name]: value } };
    }
    case 'range': {
      const number = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
      const kind = rule.integer ? 'a whole number' : 'a number';
      if (!Number.isFinite(number) || (rule.integer && !Number.isInteger(number)) || number < rule.min || number > rule.max) {
        return { issue: `${kind} from ${rule.min} to ${rule.max}` };
      }
      return { value: { [name]: number } };
    }
  }
}

const CONTROL_CHARACTERS = /[\p{Cc}\p{Cf}]/u;
const VISIBLE_CHARACTER = /[\p{L}\p{N}\p{P}\p{S}]/u;

const BOOLEANS: Record<string, boolean | undefined> = { true: true, false: false, '1': true, '0': false };

/** `2.50%` and `2.5%` are one setting: the number as JSON writes it. */
function canonicalLength(length: string): string {
  const { value, unit } = parseLength(length);
  return `${value}${unit}`;
}

function isOptionName(name: string): name is OptionName {
  return (OPTION_NAMES as readonly string[]).includes(name);
}

function quote(value: string): string {
  return JSON.stringify(echo(value));
}

function echo(value: string): string {
  return value.length > ECHO_CHARS ? `${value.slice(0, ECHO_CHARS)}…` : value;
}
