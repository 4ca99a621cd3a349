/**
 * The options panel's model, from `GET /presets`: which presets to offer, what the chosen one lets
 * the user change, and the upload fields a choice makes. Pure, so it is tested without a browser.
 *
 * The panel offers text, position, opacity and format only, to stay compact. A preset may allow
 * more (logo, offsets, scale, rotation, tiling, spacing, quality, edge); the page leaves those at
 * the preset's values, and a client that wants them sends them itself (README, "Per-request options").
 */
import type { Gravity, OutputFormatSetting, PresetsView, WatermarkSettings } from '../../shared/contracts/index.js';
import type { UploadField } from './upload-client.js';

export type PresetEntry = PresetsView['presets'][number];

/** The preset the api uses when an upload names none. */
export const DEFAULT_PRESET = 'default';

/** Each gravity in the words a person would use; `satisfies` fails the build when the contract's list changes. */
export const GRAVITY_WORDS = {
  northwest: 'top left',
  north: 'top',
  northeast: 'top right',
  west: 'left',
  center: 'centre',
  east: 'right',
  southwest: 'bottom left',
  south: 'bottom',
  southeast: 'bottom right',
} as const satisfies Record<Gravity, string>;

/** The 3×3 grid, row by row. */
export const GRAVITY_GRID: readonly Gravity[] = ['northwest', 'north', 'northeast', 'west', 'center', 'east', 'southwest', 'south', 'southeast'];

/** The contract's formats as a value; `satisfies` fails the build the day the contract's list changes. */
const FORMATS = { auto: true, jpeg: true, png: true, webp: true, avif: true } as const satisfies Record<OutputFormatSetting, true>;

/** How the presets are offered: not at all (only `default`, which allows nothing), by name alone, or to pick from. */
export type PresetPicker = { kind: 'none' } | { kind: 'label'; preset: PresetEntry } | { kind: 'select'; presets: readonly PresetEntry[] };

/** What the chosen preset lets the panel change, with the bounds the api will hold it to. */
export interface PresetControls {
  preset: PresetEntry;
  text?: { maxLength: number };
  position?: { allowed: readonly Gravity[] };
  opacity?: { min: number; max: number; step: number };
  format?: { values: readonly OutputFormatSetting[] };
}

/** What the user chose: the preset, and a value for each control (the preset's own until changed). */
export interface PanelChoice {
  preset: string;
  text: string;
  position: Gravity;
  opacity: number;
  format: OutputFormatSetting;
}

export function presetPicker(view: PresetsView): PresetPicker {
  const [only, ...others] = view.presets;
  if (!only) return { kind: 'none' };
  if (others.length > 0) return { kind: 'select', presets: view.presets };
  return only.name === DEFAULT_PRESET && controlCount(controlsFor(only)) === 0 ? { kind: 'none' } : { kind: 'label', preset: only };
}

/** The preset the panel starts with: `default` when it is listed, else the first. */
export function initialPreset(view: PresetsView): PresetEntry | undefined {
  return view.presets.find((preset) => preset.name === DEFAULT_PRESET) ?? view.presets[0];
}

export function findPreset(view: PresetsView, name: string): PresetEntry | undefined {
  return view.presets.find((preset) => preset.name === name);
}

export function controlsFor(preset: PresetEntry): PresetControls {
  const { text, position, opacity, format } = preset.allows;
  const controls: PresetControls = { preset };
  if (text?.kind === 'text') controls.text = { maxLength: text.maxLength };
  if (position?.kind === 'values') {
    const allowed = GRAVITY_GRID.filter((gravity) => position.values.includes(gravity));
    if (allowed.length > 0) controls.position = { allowed };
  }
  if (opacity?.kind === 'range' && opacity.min < opacity.max) controls.opacity = { min: opacity.min, max: opacity.max, step: 0.05 };
  if (format?.kind === 'values') {
    const values = format.values.filter(isFormat);
    if (values.length > 0) controls.format = { values };
  }
  return controls;
}

export function controlCount(controls: PresetControls): number {
  return [controls.text, controls.position, controls.opacity, controls.format].filter((control) => control !== undefined).length;
}

/** A fresh choice for `preset`: its own settings, so nothing is sent until the user changes something. */
export function initialChoice(preset: PresetEntry): PanelChoice {
  const { text, position, opacity, format } = preset.settings;
  return { preset: preset.name, text, position, opacity, format };
}

/**
 * The upload's fields for `choice`: the preset (unless `default`), then each option the preset
 * allows and the choice changed from the preset's settings, as the api parses it. A blank text is
 * not sent: the api refuses one, and the preset's own text is what "no text of mine" means here.
 */
export function uploadFields(controls: PresetControls, choice: PanelChoice): UploadField[] {
  const { name, settings } = controls.preset;
  const fields: UploadField[] = name === DEFAULT_PRESET ? [] : [['preset', name]];
  if (controls.text && choice.text.trim() !== '' && choice.text !== settings.text) fields.push(['text', choice.text]);
  if (controls.position?.allowed.includes(choice.position) && choice.position !== settings.position) fields.push(['position', choice.position]);
  // Compared before clamping: a preset's own opacity outside the range it allows is not a change.
  if (controls.opacity && roundOpacity(choice.opacity) !== roundOpacity(settings.opacity)) {
    fields.push(['opacity', String(roundOpacity(Math.min(controls.opacity.max, Math.max(controls.opacity.min, choice.opacity))))]);
  }
  if (controls.format?.values.includes(choice.format) && choice.format !== settings.format) fields.push(['format', choice.format]);
  return fields;
}

/** Two decimals, as a range input's steps give them: `0.30000000000000004` is sent as `0.3`. */
function roundOpacity(opacity: number): number {
  return Math.round(opacity * 100) / 100;
}

function isFormat(value: string): value is OutputFormatSetting {
  return Object.hasOwn(FORMATS, value);
}

/** One line of the settings a result was made with: a term and its value. */
export interface SettingLine {
  term: string;
  value: string;
}

/** What the result view says about the settings that produced it. */
export function describeSettings(preset: string | null, settings: WatermarkSettings): SettingLine[] {
  const lines: SettingLine[] = [
    { term: 'Preset', value: preset ?? DEFAULT_PRESET },
    { term: 'Text', value: settings.text === '' ? 'none' : settings.text },
  ];
  if (settings.logo) lines.push({ term: 'Logo', value: settings.logo.name });
  lines.push(
    { term: 'Position', value: settings.tile ? 'tiled' : settings.position },
    { term: 'Opacity', value: `${Math.round(settings.opacity * 100)} %` },
    { term: 'Format', value: settings.format },
  );
  return lines;
}
