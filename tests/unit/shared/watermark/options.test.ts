/**
 * An upload's options against the presets: what each preset lets through, the bounds, every
 * invalid field reported at once, and the format negotiated from Accept. A property checks that
 * no input, however hostile, does anything but resolve or list issues.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GRAVITIES, WatermarkSettingsSchema } from '../../../../src/shared/contracts/watermark-settings.js';
import { registeredLogo } from '../../../../src/shared/watermark/logos.js';
import { describeOptionIssues, resolveOptions } from '../../../../src/shared/watermark/options.js';
import { allowRules, OPTION_NAMES, type PresetCatalog } from '../../../../src/shared/watermark/presets.js';
import { DEFAULT_SETTINGS } from '../../../helpers/watermark.js';

const acme = registeredLogo(Buffer.from('acme logo bytes'));
const logos = new Map([['acme', acme]]);
const catalog: PresetCatalog = {
  logos,
  presets: new Map([
    ['default', { name: 'default', settings: DEFAULT_SETTINGS, allow: {} }],
    [
      'web',
      {
        name: 'web',
        settings: { ...DEFAULT_SETTINGS, format: 'jpeg' },
        allow: allowRules(
          {
            text: { maxLength: 64 },
            logo: true,
            position: true,
            offsetX: true,
            offsetY: true,
            opacity: { min: 0.2 },
            scale: true,
            rotate: true,
            tile: true,
            spacing: true,
            format: true,
            quality: true,
            maxEdge: { min: 128, max: 4096 },
          },
          logos,
        ),
      },
    ],
  ]),
};

const resolve = (given: [string, string][], accept?: string) => resolveOptions(given, catalog, accept);

describe('resolveOptions', () => {
  it('gives the default preset’s settings when nothing is asked', () => {
    expect(resolve([])).toEqual({ ok: true, preset: catalog.presets.get('default'), settings: { ...DEFAULT_SETTINGS, format: 'auto' }, negotiated: true });
  });

  it('applies every override a preset allows, in canonical form', () => {
    const resolved = resolve([
      ['preset', 'web'],
      ['text', 'ACME'],
      ['logo', 'acme'],
      ['position', 'northwest'],
      ['offsetX', '2.50%'],
      ['offsetY', '12'],
      ['opacity', '0.75'],
      ['scale', '0.3'],
      ['rotate', '-15'],
      ['tile', 'true'],
      ['spacing', '4'],
      ['format', 'webp'],
      ['quality', '60'],
      ['maxEdge', '1024'],
    ]);
    expect(resolved).toMatchObject({
      ok: true,
      negotiated: false,
      settings: {
        text: 'ACME',
        logo: { name: 'acme', sha256: acme.sha256 },
        position: 'northwest',
        offsetX: '2.5%',
        offsetY: '12px',
        opacity: 0.75,
        scale: 0.3,
        rotate: -15,
        tile: true,
        spacing: 4,
        format: 'webp',
        quality: 60,
        effort: 'fast',
        maxEdge: 1024,
      },
    });
    expect(resolved.ok && WatermarkSettingsSchema.safeParse(resolved.settings).success).toBe(true);
  });

  it('takes logo=none as no logo', () => {
    expect(
      resolve([
        ['preset', 'web'],
        ['logo', 'none'],
      ]),
    ).toMatchObject({ ok: true, settings: { logo: null } });
  });

  it('refuses an option the preset does not allow, naming what it allows', () => {
    expect(resolve([['text', 'ACME']])).toEqual({
      ok: false,
      issues: [{ field: 'text', expected: 'no text: preset "default" allows no override', received: '"ACME"' }],
    });
  });

  it('lists every invalid field, not just the first, with what was expected and received', () => {
    const resolved = resolve([
      ['preset', 'web'],
      ['text', 'x'.repeat(65)],
      ['opacity', '0.1'],
      ['maxEdge', '99999'],
      ['position', 'middle'],
      ['quality', '7.5'],
      ['tile', 'maybe'],
      ['offsetX', '-3px'],
      ['colour', 'red'],
    ]);
    expect(resolved.ok).toBe(false);
    const issues = resolved.ok ? [] : resolved.issues;
    expect(issues.map((issue) => issue.field).sort()).toEqual(['colour', 'maxEdge', 'offsetX', 'opacity', 'position', 'quality', 'text', 'tile']);
    expect(issues).toContainEqual({ field: 'text', expected: 'a text of at most 64 characters (got 65)', received: `"${'x'.repeat(40)}…"` });
    expect(issues).toContainEqual({ field: 'opacity', expected: 'a number from 0.2 to 1', received: '"0.1"' });
    expect(issues).toContainEqual({ field: 'maxEdge', expected: 'a whole number from 128 to 4096', received: '"99999"' });
    expect(describeOptionIssues(issues)).toMatch(/^Invalid options: .*opacity: expected a number from 0.2 to 1, received "0.1"/);
  });

  it('refuses an unknown preset, a blank text, and an option given twice', () => {
    expect(resolve([['preset', 'print']])).toMatchObject({ ok: false, issues: [{ field: 'preset', expected: 'one of default, web', received: '"print"' }] });
    for (const blank of ['   ', '\u200b', 'A\u0000B', '\u202eABC']) {
      expect(
        resolve([
          ['preset', 'web'],
          ['text', blank],
        ]),
      ).toMatchObject({ ok: false, issues: [{ field: 'text', expected: 'a text with at least one visible character and no control characters' }] });
    }
    expect(
      resolve([
        ['preset', 'web'],
        ['text', '© 水印 🐇'],
      ]),
    ).toMatchObject({ ok: true, settings: { text: '© 水印 🐇' } });
    expect(
      resolve([
        ['preset', 'web'],
        ['text', 'a'],
        ['text', 'b'],
      ]),
    ).toMatchObject({ ok: false, issues: [{ field: 'text', expected: 'one value' }] });
  });

  it.each([
    ['image/avif,image/webp,*/*', 'avif'],
    ['image/webp,*/*;q=0.8', 'webp'],
    ['image/avif;q=0,image/webp', 'webp'],
    ['*/*', 'auto'],
    [undefined, 'auto'],
  ])('negotiates format=auto from Accept %s → %s', (accept, format) => {
    expect(
      resolve(
        [
          ['preset', 'web'],
          ['format', 'auto'],
        ],
        accept,
      ),
    ).toMatchObject({ ok: true, negotiated: true, settings: { format } });
  });

  it('leaves a named format alone whatever Accept says', () => {
    expect(
      resolve(
        [
          ['preset', 'web'],
          ['format', 'png'],
        ],
        'image/avif',
      ),
    ).toMatchObject({ ok: true, negotiated: false, settings: { format: 'png' } });
  });

  it('resolves or lists issues for any input, and what it resolves always holds as settings', () => {
    const name = fc.oneof(fc.constantFrom(...OPTION_NAMES), fc.string({ maxLength: 20 }));
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom(...GRAVITIES, 'web', 'acme', 'none', '0', '1', '-1', '1e9', 'NaN', '50%', '10px', 'true'),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(name, value), { maxLength: 8 }), fc.option(fc.string({ maxLength: 60 }), { nil: undefined }), (given, accept) => {
        const resolved = resolveOptions(given, catalog, accept);
        if (resolved.ok) expect(WatermarkSettingsSchema.safeParse(resolved.settings).success).toBe(true);
        else expect(resolved.issues.length).toBeGreaterThan(0);
      }),
    );
  });
});
