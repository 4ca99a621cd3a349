/** Result identity: one id per original and effective settings, whatever order they were built in. */
import { describe, expect, it } from 'vitest';
import { WatermarkSettingsSchema } from '../../../../src/shared/contracts/watermark-settings.js';
import { canonicalSettings, resultIdFor, settingsHeader } from '../../../../src/shared/watermark/identity.js';
import { DEFAULT_SETTINGS } from '../../../helpers/watermark.js';

const hash = 'a'.repeat(64);

describe('resultIdFor', () => {
  it('is the same for equal settings built in another order', () => {
    const reordered = Object.fromEntries(Object.entries(DEFAULT_SETTINGS).reverse()) as typeof DEFAULT_SETTINGS;
    expect(canonicalSettings(reordered)).toBe(canonicalSettings(DEFAULT_SETTINGS));
    expect(resultIdFor(hash, reordered)).toBe(resultIdFor(hash, DEFAULT_SETTINGS));
    expect(resultIdFor(hash, DEFAULT_SETTINGS)).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['text', { text: 'ACME' }],
    ['logo', { logo: { name: 'acme', sha256: 'b'.repeat(64) } }],
    ['logo bytes', { logo: { name: 'acme', sha256: 'c'.repeat(64) } }],
    ['position', { position: 'north' }],
    ['offsetX', { offsetX: '25px' }],
    ['offsetY', { offsetY: '1%' }],
    ['opacity', { opacity: 0.51 }],
    ['scale', { scale: 0.2 }],
    ['rotate', { rotate: 1 }],
    ['tile', { tile: true }],
    ['spacing', { spacing: 2 }],
    ['format', { format: 'webp' }],
    ['quality', { quality: 81 }],
    ['effort', { effort: 'max' }],
    ['maxEdge', { maxEdge: 2047 }],
  ] as const)('changes with %s', (_name, change) => {
    const changed = { ...DEFAULT_SETTINGS, ...change };
    expect(WatermarkSettingsSchema.safeParse(changed).success).toBe(true);
    expect(resultIdFor(hash, changed)).not.toBe(resultIdFor(hash, DEFAULT_SETTINGS));
    if ('logo' in change && change.logo.sha256 === 'c'.repeat(64)) {
      expect(resultIdFor(hash, changed)).not.toBe(resultIdFor(hash, { ...DEFAULT_SETTINGS, logo: { name: 'acme', sha256: 'b'.repeat(64) } }));
    }
  });

  it('changes with the original', () => {
    expect(resultIdFor('b'.repeat(64), DEFAULT_SETTINGS)).not.toBe(resultIdFor(hash, DEFAULT_SETTINGS));
  });
});

describe('settingsHeader', () => {
  it('is ASCII JSON that reads back as the settings', () => {
    const settings = { ...DEFAULT_SETTINGS, text: '© Ünïcode 水印 🐇' };
    const header = settingsHeader(settings);
    expect(header).toMatch(/^[\x20-\x7e]+$/);
    expect(JSON.parse(header)).toEqual(settings);
  });
});
