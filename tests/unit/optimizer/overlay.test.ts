import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildOverlay, escapeXml, measureText, type MarkParts, type TextMetrics } from '../../../src/optimizer/overlay.js';
import { prepareLogo, type PreparedLogo } from '../../../src/optimizer/logo.js';
import { baseSettings, tiledSettings } from './fixtures.js';

let metrics: TextMetrics;
let logo: PreparedLogo;

beforeAll(async () => {
  const measured = await measureText('NWS');
  if (!measured) throw new Error('NWS drew nothing: are fonts installed?');
  metrics = measured;
  logo = await prepareLogo(
    await sharp({ create: { width: 80, height: 40, channels: 4, background: '#ff0000' } })
      .png()
      .toBuffer(),
  );
});

describe('escapeXml', () => {
  it('escapes the five XML special characters', () => {
    expect(escapeXml(`<a href="x">Tom & Jerry's</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;');
  });

  it('drops characters XML 1.0 forbids and keeps the rest of Unicode', () => {
    expect(escapeXml('a\u0000b\u0007c\u001Fd\uFFFEe\uD800f')).toBe('abcdef');
    expect(escapeXml('tab\tnew\nline © 水印 🐇')).toBe('tab\tnew\nline © 水印 🐇');
  });
});

describe('measureText', () => {
  it('measures the ink of a text in em units', () => {
    expect(metrics.right - metrics.left).toBeGreaterThan(1.5);
    expect(metrics.right - metrics.left).toBeLessThan(3.5);
    expect(metrics.ascent).toBeGreaterThan(0.6);
    expect(metrics.ascent).toBeLessThan(1.1);
  });

  it('grows with the text', async () => {
    const longer = await measureText('NWS Watermark');
    expect(longer!.right - longer!.left).toBeGreaterThan(3 * (metrics.right - metrics.left));
  });

  it('reports blank text as drawing nothing', async () => {
    expect(await measureText('   ')).toBeUndefined();
    expect(await measureText('')).toBeUndefined();
  });
});

describe('buildOverlay', () => {
  const parts = (): MarkParts => ({ text: { value: 'NWS', metrics } });

  it('sizes the mark from the image: a bigger image gets a bigger mark', () => {
    const settings = { ...baseSettings, offsetX: '0px', offsetY: '0px' };
    const small = buildOverlay({ width: 400, height: 300 }, settings, parts())!;
    const large = buildOverlay({ width: 2000, height: 1500 }, settings, parts())!;
    expect(large.width).toBeGreaterThan(small.width * 2);
    expect(large.height).toBeGreaterThan(small.height * 2);
  });

  it('places a single mark at the gravity’s edges, the offsets away from them', () => {
    const size = { width: 2000, height: 1500 };
    const northwest = buildOverlay(size, { ...baseSettings, position: 'northwest', offsetX: '40px', offsetY: '10px' }, parts())!;
    expect(northwest).toMatchObject({ tile: false, left: 40, top: 10 });
    expect(northwest.svg).toContain('opacity="0.6"');
    const southeast = buildOverlay(size, { ...baseSettings, position: 'southeast', offsetX: '5%', offsetY: '0px' }, parts());
    expect(southeast).toMatchObject({ tile: false, left: 2000 - 100 - (southeast?.width ?? 0), top: 1500 - (southeast?.height ?? 0) });
    // On a centred axis the mark stays centred: the offset is a margin from an edge it does not touch.
    const north = buildOverlay(size, { ...baseSettings, position: 'north', offsetX: '300px', offsetY: '20px' }, parts());
    expect(north).toMatchObject({ left: Math.floor((2000 - (north?.width ?? 0)) / 2), top: 20 });
  });

  it('sizes the mark to `scale` of the image’s width', () => {
    const overlay = buildOverlay({ width: 2000, height: 1500 }, { ...baseSettings, scale: 0.5 }, parts())!;
    expect(overlay.width).toBeGreaterThanOrEqual(999);
    expect(overlay.width).toBeLessThanOrEqual(1001);
  });

  it('turns the mark: its box grows to hold it, and the SVG rotates about the centre', () => {
    const level = buildOverlay({ width: 2000, height: 1500 }, { ...baseSettings, scale: 0.2 }, parts())!;
    const turned = buildOverlay({ width: 2000, height: 1500 }, { ...baseSettings, scale: 0.2, rotate: 90 }, parts())!;
    expect(turned.svg).toContain('rotate(90)');
    // scale applies to the turned box's width: a mark on its side is as wide as asked, and taller.
    expect(turned.height).toBeGreaterThan(level.height * 2);
  });

  it('is a tile without a place in tiled mode, spaced by `spacing`', () => {
    const overlay = buildOverlay({ width: 2000, height: 1500 }, tiledSettings, parts())!;
    expect(overlay).toMatchObject({ tile: true });
    expect(overlay.svg).toContain('rotate(-30)');
    const wider = buildOverlay({ width: 2000, height: 1500 }, { ...tiledSettings, spacing: 6 }, parts())!;
    expect(wider.width).toBeGreaterThan(overlay.width);
  });

  it.each([
    [1, 1],
    [3, 200],
    [40, 30],
    [5000, 12],
    [12, 5000],
    [640, 480],
  ])('always fits inside a %ix%i image (or draws nothing)', (width, height) => {
    const longText = 'A long watermark text that would never fit on a small image, repeated. '.repeat(3);
    const wide = { text: { value: longText, metrics: { ...metrics, right: metrics.left + 60 } }, logo };
    for (const settings of [baseSettings, tiledSettings, { ...baseSettings, offsetX: '1000px', offsetY: '50%' }, { ...baseSettings, scale: 1, rotate: 45 }]) {
      for (const mark of [parts(), wide]) {
        const overlay = buildOverlay({ width, height }, settings, mark);
        if (!overlay) continue;
        expect(overlay.width).toBeLessThanOrEqual(width);
        expect(overlay.height).toBeLessThanOrEqual(height);
        expect(overlay.svg).toContain(`width="${overlay.width}" height="${overlay.height}"`);
      }
    }
  });

  it('draws nothing at zero opacity or with neither text nor logo', () => {
    expect(buildOverlay({ width: 800, height: 600 }, { ...baseSettings, opacity: 0 }, parts())).toBeUndefined();
    expect(buildOverlay({ width: 800, height: 600 }, baseSettings, {})).toBeUndefined();
  });

  it('embeds the logo beside the text', () => {
    const withLogo = buildOverlay({ width: 800, height: 600 }, baseSettings, { ...parts(), logo })!;
    const without = buildOverlay({ width: 800, height: 600 }, baseSettings, parts())!;
    expect(withLogo.svg).toContain('<image href="data:image/png;base64,');
    expect(withLogo.width).toBeGreaterThan(without.width);
  });

  it('renders as valid SVG whatever the text contains', async () => {
    const hostile = `</text><script>alert(1)</script> & "quotes" 'apos' \u0001`;
    const measured = await measureText(hostile);
    expect(measured).toBeDefined();
    const overlay = buildOverlay({ width: 800, height: 600 }, baseSettings, { text: { value: hostile, metrics: measured! } })!;
    expect(overlay.svg).not.toContain('<script>');
    const { info } = await sharp(Buffer.from(overlay.svg)).raw().toBuffer({ resolveWithObject: true });
    expect({ width: info.width, height: info.height }).toEqual({ width: overlay.width, height: overlay.height });
  });
});
