import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settingsFingerprint, settingsFromConfig, type WatermarkSettings } from '../../../src/optimizer/settings.js';
import { ConfigError, loadConfig, optimizerEnv } from '../../../src/shared/config.js';
import { baseSettings } from './fixtures.js';

let dir: string;
let logoPath: string;
let logoBytes: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wm-settings-'));
  logoBytes = await sharp({ create: { width: 40, height: 20, channels: 4, background: '#ff000080' } })
    .png()
    .toBuffer();
  logoPath = join(dir, 'logo.png');
  writeFileSync(logoPath, logoBytes);
  writeFileSync(join(dir, 'logo.txt'), 'not an image');
  writeFileSync(join(dir, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
  writeFileSync(join(dir, 'truncated.png'), logoBytes.subarray(0, 40));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('settingsFromConfig', () => {
  it('takes every setting from the optimizer configuration', async () => {
    const config = loadConfig(optimizerEnv, {
      WATERMARK_TEXT: '© NWS',
      WATERMARK_POSITION: 'northwest',
      WATERMARK_OPACITY: '0.3',
      WATERMARK_MARGIN: '10',
      WATERMARK_TILED: 'true',
      RESIZE_MAX_EDGE: '1024',
      OUTPUT_FORMAT: 'webp',
      OUTPUT_QUALITY: '70',
    });
    expect(await settingsFromConfig(config)).toEqual({
      text: '© NWS',
      position: 'northwest',
      opacity: 0.3,
      margin: 10,
      tiled: true,
      maxEdge: 1024,
      format: 'webp',
      quality: 70,
    });
  });

  it('has no logo when WATERMARK_LOGO_PATH is unset', async () => {
    const settings = await settingsFromConfig(loadConfig(optimizerEnv, {}));
    expect(settings.logo).toBeUndefined();
    expect(settings.text).toBe('NWS');
  });

  it('reads the logo bytes from WATERMARK_LOGO_PATH', async () => {
    const settings = await settingsFromConfig(loadConfig(optimizerEnv, { WATERMARK_LOGO_PATH: logoPath }));
    expect(settings.logo?.equals(logoBytes)).toBe(true);
  });

  it.each([
    ['a missing file', 'missing.png', /cannot read the logo file/],
    ['a text file', 'logo.txt', /expected a JPEG, PNG/],
    ['an SVG', 'logo.svg', /expected a JPEG, PNG/],
    ['a truncated PNG', 'truncated.png', /cannot be decoded/],
  ])('refuses %s with an error naming WATERMARK_LOGO_PATH', async (_name, file, reason) => {
    const path = join(dir, file);
    const attempt = settingsFromConfig(loadConfig(optimizerEnv, { WATERMARK_LOGO_PATH: path }));
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/WATERMARK_LOGO_PATH/);
    await expect(attempt).rejects.toThrow(reason);
    await expect(attempt).rejects.toThrow(path);
  });
});

describe('settingsFingerprint', () => {
  it('is a sha256 hex digest, stable for equal settings', () => {
    const fingerprint = settingsFingerprint(baseSettings);
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(settingsFingerprint({ ...baseSettings })).toBe(fingerprint);
    expect(settingsFingerprint({ ...baseSettings, logo: Buffer.from(logoBytes) })).toBe(settingsFingerprint({ ...baseSettings, logo: Buffer.from(logoBytes) }));
  });

  const changes: [keyof WatermarkSettings, Partial<WatermarkSettings>][] = [
    ['text', { text: 'NWS!' }],
    ['logo', { logo: Buffer.from('logo') }],
    ['position', { position: 'northwest' }],
    ['opacity', { opacity: 0.61 }],
    ['margin', { margin: 25 }],
    ['tiled', { tiled: true }],
    ['maxEdge', { maxEdge: 1001 }],
    ['format', { format: 'jpeg' }],
    ['quality', { quality: 81 }],
  ];

  it('covers every field of WatermarkSettings', () => {
    const fields = new Set<string>([...Object.keys(baseSettings), 'logo']);
    expect(new Set(changes.map(([field]) => field))).toEqual(fields);
  });

  it.each(changes)('changes when %s changes', (_field, change) => {
    expect(settingsFingerprint({ ...baseSettings, ...change })).not.toBe(settingsFingerprint(baseSettings));
  });

  it('changes when the logo bytes change', () => {
    const other = Buffer.from(logoBytes);
    other[other.length - 1] = (other[other.length - 1] ?? 0) ^ 1;
    expect(settingsFingerprint({ ...baseSettings, logo: other })).not.toBe(settingsFingerprint({ ...baseSettings, logo: logoBytes }));
  });

  it('does not confuse fields whose values could be shifted between them', () => {
    expect(settingsFingerprint({ ...baseSettings, margin: 1, quality: 80 })).not.toBe(settingsFingerprint({ ...baseSettings, margin: 80, quality: 1 }));
  });
});
