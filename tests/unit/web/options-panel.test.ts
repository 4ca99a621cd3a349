import { describe, expect, it } from 'vitest';
import type { PresetsView } from '../../../src/shared/contracts/presets-view.js';
import {
  controlsFor,
  describeSettings,
  initialChoice,
  initialPreset,
  presetPicker,
  uploadFields,
  type PanelChoice,
  type PresetEntry,
} from '../../../src/web/src/options-panel.js';
import { settingsHeader } from '../../../src/shared/watermark/identity.js';
import { parseSettingsHeader } from '../../../src/web/src/settings-header.js';
import { watermarkSettings } from './fakes.js';

const DEFAULT: PresetEntry = { name: 'default', settings: watermarkSettings(), allows: {} };
const WEB: PresetEntry = {
  name: 'web',
  description: 'Your own mark',
  settings: watermarkSettings({ text: 'NWS', position: 'southeast', opacity: 0.5, format: 'auto' }),
  allows: {
    text: { kind: 'text', maxLength: 64 },
    position: { kind: 'values', values: ['northwest', 'southeast', 'nowhere'] },
    opacity: { kind: 'range', min: 0.2, max: 1, integer: false },
    format: { kind: 'values', values: ['jpeg', 'webp', 'gif'] },
    quality: { kind: 'range', min: 1, max: 100, integer: true },
  },
};
const view = (...presets: PresetEntry[]): PresetsView => ({ presets, logos: [] });
const choose = (preset: PresetEntry, change: Partial<PanelChoice>): PanelChoice => ({ ...initialChoice(preset), ...change });

describe('presetPicker', () => {
  it('offers nothing when there is only default and it allows nothing', () => {
    expect(presetPicker(view(DEFAULT))).toEqual({ kind: 'none' });
    expect(presetPicker(view())).toEqual({ kind: 'none' });
  });

  it('names a single preset that allows something, and offers a choice among several', () => {
    expect(presetPicker(view(WEB))).toEqual({ kind: 'label', preset: WEB });
    expect(presetPicker(view(DEFAULT, WEB))).toEqual({ kind: 'select', presets: [DEFAULT, WEB] });
  });

  it('starts with default when it is listed', () => {
    expect(initialPreset(view(WEB, DEFAULT))).toBe(DEFAULT);
    expect(initialPreset(view(WEB))).toBe(WEB);
  });
});

describe('controlsFor', () => {
  it('offers only what the preset allows, among text, position, opacity and format', () => {
    const controls = controlsFor(WEB);

    expect(controls.text).toEqual({ maxLength: 64 });
    expect(controls.position).toEqual({ allowed: ['northwest', 'southeast'] });
    expect(controls.opacity).toEqual({ min: 0.2, max: 1, step: 0.05 });
    expect(controls.format).toEqual({ values: ['jpeg', 'webp'] });
    expect(Object.keys(controls).sort()).toEqual(['format', 'opacity', 'position', 'preset', 'text']);
  });

  it('offers nothing for a preset that allows nothing', () => {
    expect(controlsFor(DEFAULT)).toEqual({ preset: DEFAULT });
  });

  it('lists the allowed positions in grid order, whatever order the preset gives', () => {
    const preset = { ...WEB, allows: { position: { kind: 'values', values: ['south', 'center', 'north'] } } } satisfies PresetEntry;
    expect(controlsFor(preset).position?.allowed).toEqual(['north', 'center', 'south']);
  });
});

describe('uploadFields', () => {
  it('sends nothing for default left as it is', () => {
    expect(uploadFields(controlsFor(DEFAULT), initialChoice(DEFAULT))).toEqual([]);
  });

  it('names the preset, and only the options changed from its settings', () => {
    const controls = controlsFor(WEB);
    expect(uploadFields(controls, initialChoice(WEB))).toEqual([['preset', 'web']]);
    expect(uploadFields(controls, choose(WEB, { text: 'ACME', position: 'northwest', format: 'webp' }))).toEqual([
      ['preset', 'web'],
      ['text', 'ACME'],
      ['position', 'northwest'],
      ['format', 'webp'],
    ]);
  });

  it('never sends an option the preset does not allow, nor a value it does not list', () => {
    const controls = controlsFor(WEB);
    expect(uploadFields(controls, choose(WEB, { position: 'north', format: 'avif' }))).toEqual([['preset', 'web']]);
    expect(uploadFields(controlsFor(DEFAULT), choose(DEFAULT, { text: 'ACME', position: 'northwest', opacity: 0.9 }))).toEqual([]);
  });

  it('sends opacity as two decimals within the allowed range', () => {
    const controls = controlsFor(WEB);
    expect(uploadFields(controls, choose(WEB, { opacity: 0.1 + 0.2 }))).toContainEqual(['opacity', '0.3']);
    expect(uploadFields(controls, choose(WEB, { opacity: 0.05 }))).toContainEqual(['opacity', '0.2']);
    expect(uploadFields(controls, choose(WEB, { opacity: 0.5000001 }))).toEqual([['preset', 'web']]);
  });

  it('does not send a blank text, which the api refuses: the preset keeps its own', () => {
    expect(uploadFields(controlsFor(WEB), choose(WEB, { text: '   ' }))).toEqual([['preset', 'web']]);
  });
});

describe('parseSettingsHeader', () => {
  it('reads the settings the api escaped to ASCII', () => {
    const settings = watermarkSettings({ text: 'Café ☕', position: 'northwest' });
    // The header the api sends, not a copy of it: a new default cannot leave this test behind.
    const header = settingsHeader(settings);
    expect(header).toContain(String.raw`"text":"Caf\u00e9 \u2615"`);
    expect(parseSettingsHeader(header)).toEqual(settings);
  });

  it('is null for a missing, malformed or foreign header', () => {
    for (const header of [null, '', 'not json', '[]', '{"text":1}', JSON.stringify({ text: 'x', position: 'north' })]) {
      expect(parseSettingsHeader(header), String(header)).toBeNull();
    }
  });
});

describe('describeSettings', () => {
  it('says the preset, text, position, opacity and format that made a result', () => {
    const lines = describeSettings('web', watermarkSettings({ text: 'ACME', position: 'northwest', opacity: 0.35, format: 'webp' }));
    expect(lines).toEqual([
      { term: 'Preset', value: 'web' },
      { term: 'Text', value: 'ACME' },
      { term: 'Position', value: 'northwest' },
      { term: 'Opacity', value: '35 %' },
      { term: 'Format', value: 'webp' },
    ]);
  });

  it('names default when the upload named no preset, and says when the mark is tiled or has no text', () => {
    const lines = describeSettings(null, watermarkSettings({ text: '', tile: true, logo: { name: 'acme', sha256: 'f'.repeat(64) } }));
    expect(lines.slice(0, 4)).toEqual([
      { term: 'Preset', value: 'default' },
      { term: 'Text', value: 'none' },
      { term: 'Logo', value: 'acme' },
      { term: 'Position', value: 'tiled' },
    ]);
  });
});
