/**
 * Loading the presets: `default` from the variables, PRESETS_FILE with its logos, and start-up
 * errors that name the file, the preset, the field, what was expected and what was received.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareLogo } from '../../../../src/optimizer/logo.js';
import { ConfigError, loadConfig, optimizerEnv } from '../../../../src/shared/config.js';
import { sha256Hex } from '../../../../src/shared/content-address.js';
import { loadPresetCatalog } from '../../../../src/shared/watermark/presets-file.js';
import { DEFAULT_SETTINGS } from '../../../helpers/watermark.js';

let dir: string;
let logoPath: string;
let logoBytes: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wm-presets-'));
  logoBytes = await sharp({ create: { width: 40, height: 20, channels: 4, background: '#ff000080' } })
    .png()
    .toBuffer();
  mkdirSync(join(dir, 'logos'));
  logoPath = join(dir, 'logos', 'acme.png');
  writeFileSync(logoPath, logoBytes);
  writeFileSync(join(dir, 'logo.txt'), 'not an image');
  writeFileSync(join(dir, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
  writeFileSync(join(dir, 'truncated.png'), logoBytes.subarray(0, 40));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function presetsFile(name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

const config = (env: Record<string, string> = {}) => loadConfig(optimizerEnv, env);

describe('default, from the variables', () => {
  it('is the defaults with no variable set, and lets an upload change every option, the edge up to RESIZE_MAX_EDGE', async () => {
    const catalog = await loadPresetCatalog(config());
    expect([...catalog.presets.keys()]).toEqual(['default']);
    const preset = catalog.presets.get('default')!;
    expect(preset.settings).toEqual(DEFAULT_SETTINGS);
    expect(Object.keys(preset.allow)).toEqual([
      'text',
      'logo',
      'position',
      'format',
      'offsetX',
      'offsetY',
      'tile',
      'opacity',
      'scale',
      'rotate',
      'spacing',
      'quality',
      'maxEdge',
    ]);
    expect(preset.allow.maxEdge).toEqual({ kind: 'range', min: 16, max: 2048, integer: true });
    // Faint, never gone: an upload cannot ask for its image without the mark.
    expect(preset.allow.opacity).toEqual({ kind: 'range', min: 0.1, max: 1, integer: false });
    expect(preset.allow.logo).toEqual({ kind: 'values', values: ['none'] });
  });

  it('lets an upload change only what DEFAULT_PRESET_ALLOWS names, or nothing', async () => {
    expect(Object.keys((await loadPresetCatalog(config({ DEFAULT_PRESET_ALLOWS: 'text, format' }))).presets.get('default')!.allow)).toEqual(['text', 'format']);
    expect((await loadPresetCatalog(config({ DEFAULT_PRESET_ALLOWS: 'none' }))).presets.get('default')!.allow).toEqual({});
    expect(() => config({ DEFAULT_PRESET_ALLOWS: 'text,colour' })).toThrow(/DEFAULT_PRESET_ALLOWS/);
  });

  it('takes every WATERMARK_* and OUTPUT_* variable; the tiled mark turns -30° as it always has', async () => {
    const catalog = await loadPresetCatalog(
      config({
        WATERMARK_TEXT: '© NWS',
        WATERMARK_POSITION: 'northwest',
        WATERMARK_OPACITY: '0.3',
        WATERMARK_MARGIN: '10',
        WATERMARK_TILED: 'true',
        RESIZE_MAX_EDGE: '1024',
        OUTPUT_FORMAT: 'webp',
        OUTPUT_QUALITY: '70',
        OUTPUT_EFFORT: 'balanced',
        WATERMARK_LOGO_PATH: logoPath,
      }),
    );
    expect(catalog.presets.get('default')?.settings).toEqual({
      text: '© NWS',
      logo: { name: 'logo', sha256: sha256Hex(logoBytes) },
      position: 'northwest',
      offsetX: '10px',
      offsetY: '10px',
      opacity: 0.3,
      scale: null,
      rotate: -30,
      tile: true,
      spacing: 3,
      format: 'webp',
      quality: 70,
      effort: 'balanced',
      maxEdge: 1024,
    });
    expect(catalog.logos.get('logo')?.bytes.equals(logoBytes)).toBe(true);
  });

  it.each([
    ['a missing file', 'missing.png', /cannot read the logo file/],
    ['a text file', 'logo.txt', /expected a JPEG, PNG/],
    ['an SVG', 'logo.svg', /expected a JPEG, PNG/],
    ['a truncated PNG', 'truncated.png', /cannot be decoded/],
  ])('refuses %s as WATERMARK_LOGO_PATH, naming it', async (_name, file, reason) => {
    const path = join(dir, file);
    const attempt = loadPresetCatalog(config({ WATERMARK_LOGO_PATH: path }), prepareLogo);
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    await expect(attempt).rejects.toThrow(/WATERMARK_LOGO_PATH/);
    await expect(attempt).rejects.toThrow(reason);
    await expect(attempt).rejects.toThrow(path);
  });
});

describe('PRESETS_FILE', () => {
  it('adds presets over the variables’ values, with logos relative to the file and the bounds spelled out', async () => {
    const path = presetsFile(
      'good.yaml',
      `
logos:
  acme: logos/acme.png
presets:
  web:
    description: Marked for the web
    text: ACME
    logo: acme
    position: northwest
    offsetX: 2.5%
    offsetY: 12
    format: webp
    allow:
      text: { maxLength: 64 }
      position: [northwest, northeast]
      opacity: { min: 0.2 }
      maxEdge: { min: 128, max: 4096 }
      format: true
      tile: true
`,
    );
    const catalog = await loadPresetCatalog(config({ PRESETS_FILE: path, OUTPUT_QUALITY: '70' }));
    expect([...catalog.presets.keys()]).toEqual(['default', 'web']);
    const web = catalog.presets.get('web')!;
    expect(web.description).toBe('Marked for the web');
    expect(web.settings).toEqual({
      ...DEFAULT_SETTINGS,
      quality: 70,
      text: 'ACME',
      logo: { name: 'acme', sha256: sha256Hex(logoBytes) },
      position: 'northwest',
      offsetX: '2.5%',
      offsetY: '12px',
      format: 'webp',
    });
    expect(web.allow).toEqual({
      text: { kind: 'text', maxLength: 64 },
      position: { kind: 'values', values: ['northwest', 'northeast'] },
      opacity: { kind: 'range', min: 0.2, max: 1, integer: false },
      maxEdge: { kind: 'range', min: 128, max: 4096, integer: true },
      format: { kind: 'values', values: ['auto', 'jpeg', 'png', 'webp', 'avif'] },
      tile: { kind: 'boolean' },
    });
  });

  it('may redefine default', async () => {
    const path = presetsFile('default.yaml', 'presets:\n  default:\n    text: Mine\n    allow: { text: true }\n');
    const catalog = await loadPresetCatalog(config({ PRESETS_FILE: path }));
    expect(catalog.presets.get('default')).toMatchObject({
      settings: { ...DEFAULT_SETTINGS, text: 'Mine' },
      allow: { text: { kind: 'text', maxLength: 200 } },
    });
  });

  it('lists every fault with the preset, the field, what was expected and what was received', async () => {
    const path = presetsFile(
      'bad.yaml',
      `
presets:
  web:
    opacity: 3
    position: middle
    allow:
      maxEdge: { min: 4096, max: 128 }
      colour: true
  print:
    logo: missing
`,
    );
    const attempt = loadPresetCatalog(config({ PRESETS_FILE: path }));
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    const message = await attempt.then(
      () => '',
      (err: unknown) => (err as Error).message,
    );
    expect(message).toContain(`PRESETS_FILE (${path}): preset "web", field "opacity": expected it to be at most 1, received 3`);
    expect(message).toContain('preset "web", field "position": expected it to be one of "north"');
    expect(message).toContain('received "middle"');
    expect(message).toContain('preset "web", field "allow.maxEdge": expected it to have min at most max');
    expect(message).toContain('preset "web", field "allow"');
    expect(message).toContain('colour');
  });

  it('names an unregistered logo', async () => {
    const path = presetsFile('logo.yaml', 'presets:\n  print:\n    logo: missing\n');
    await expect(loadPresetCatalog(config({ PRESETS_FILE: path }))).rejects.toThrow(
      'preset "print", field "logo": expected one of the registered logos (none registered), received "missing"',
    );
  });

  it.each([
    ['a file that is not there', 'nowhere.yaml', undefined, /cannot read the file/],
    ['a file that is not YAML', 'broken.yaml', 'presets: [unclosed', /not YAML or JSON/],
    ['a document without presets', 'empty.yaml', 'logos: {}\n', /field "presets": expected it to be a map of names to values, received nothing/],
  ])('refuses %s', async (_case, name, text, reason) => {
    const path = text === undefined ? join(dir, name) : presetsFile(name, text);
    await expect(loadPresetCatalog(config({ PRESETS_FILE: path }))).rejects.toThrow(reason);
  });
});
