/**
 * compositeOnRegion against sharp's whole-frame composite: the same mark, at the same place, on the
 * same resized images (opaque JPEG, PNG with alpha), must give the same pixels, byte for byte.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { compositeOnRegion, compositeRawRegion, type PlacedMark } from '../../../src/optimizer/composite-region.js';
import { buildOverlay, measureText } from '../../../src/optimizer/overlay.js';
import { watermarkImage } from '../../../src/optimizer/pipeline.js';
import { alphaPng, baseSettings, decodeRaw, gradientPixels } from './fixtures.js';

/** A gradient with seeded grain, so every pixel differs from its neighbours as in a photograph. */
function grainyJpeg(width: number, height: number): Promise<Buffer> {
  const data = gradientPixels(width, height);
  let state = 12345;
  for (let i = 0; i < data.length; i += 1) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = Math.max(0, Math.min(255, data[i]! + ((state >>> 24) % 31) - 15));
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The pipeline's geometric steps, no mark, no encoder. */
const resized = (input: Buffer) => sharp(input).rotate().resize(1000, 1000, { fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: false });

/** The product's own mark for a frame of `width` × `height`, rendered to PNG, in the south-east corner. */
async function productMark(width: number, height: number): Promise<PlacedMark> {
  const metrics = await measureText(baseSettings.text);
  const overlay = buildOverlay({ width, height }, baseSettings, { text: { value: baseSettings.text, metrics: metrics! } })!;
  if (overlay.tile) throw new Error('a placed mark was expected');
  return { data: await sharp(Buffer.from(overlay.svg)).png().toBuffer(), left: overlay.left, top: overlay.top };
}

/** A raw RGBA mark with every alpha from 0 to 255 and colours that vary across it. */
function rampMark(left: number, top: number): PlacedMark {
  const width = 64;
  const height = 40;
  const data = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i += 1) data.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256, i % 256], i * 4);
  return { data, raw: { width, height, channels: 4 }, left, top };
}

async function wholeFrame(input: Buffer, mark: PlacedMark, removeAlpha: boolean): Promise<Buffer> {
  let pipeline = resized(input).composite([{ input: mark.data, ...(mark.raw ? { raw: mark.raw } : {}), left: mark.left, top: mark.top }]);
  if (removeAlpha) pipeline = pipeline.removeAlpha();
  return pipeline.raw().toBuffer();
}

describe('compositeOnRegion', () => {
  it('gives exactly the whole-frame composite of the product mark on an opaque JPEG, keeping 3 channels', async () => {
    const input = await grainyJpeg(1600, 1200);
    const { width, height } = await decodeRaw(resized(input));
    const mark = await productMark(width, height);
    const region = await decodeRaw(await compositeOnRegion(resized(input), mark));
    expect(region.channels).toBe(3);
    expect(region.data.equals(await wholeFrame(input, mark, true))).toBe(true);
  });

  it('gives exactly the whole-frame composite on a PNG with alpha (composited whole), keeping its alpha', async () => {
    const input = await alphaPng(1200, 800);
    // Across the transparent quarter's edge: transparent and opaque pixels under one mark.
    const mark = rampMark(220, 300);
    const region = await decodeRaw(await compositeOnRegion(resized(input), mark));
    expect(region.channels).toBe(4);
    expect(region.data.equals(await wholeFrame(input, mark, false))).toBe(true);
  });

  it('gives exactly the whole-frame composite of a semi-transparent raw mark at the frame edge', async () => {
    const input = await grainyJpeg(900, 700);
    const mark = rampMark(900 - 64, 700 - 40);
    const region = await decodeRaw(await compositeOnRegion(resized(input), mark));
    expect(region.data.equals(await wholeFrame(input, mark, true))).toBe(true);
  });

  it('changes no pixel outside the mark', async () => {
    const input = await grainyJpeg(800, 600);
    const before = await decodeRaw(resized(input));
    const after = await decodeRaw(await compositeOnRegion(resized(input), rampMark(100, 50)));
    const row = (image: { data: Buffer }, y: number) => image.data.subarray(y * 800 * 3, (y + 1) * 800 * 3);
    expect(row(after, 49).equals(row(before, 49))).toBe(true);
    expect(row(after, 90).equals(row(before, 90))).toBe(true);
    expect(row(after, 50).subarray(0, 300).equals(row(before, 50).subarray(0, 300))).toBe(true);
    expect(row(after, 50).equals(row(before, 50))).toBe(false);
  });
});

describe('compositeRawRegion', () => {
  it('refuses a mark that does not fit in the frame, naming both sizes', async () => {
    const frame = { data: Buffer.alloc(100 * 50 * 3), info: { width: 100, height: 50, channels: 3 as const } };
    await expect(compositeRawRegion(frame, rampMark(50, 20))).rejects.toThrow(/64x40 mark at 50,20 does not fit in a 100x50 frame/);
  });
});

describe('watermarkImage with regionMark', () => {
  const positions = ['north', 'northeast', 'east', 'southeast', 'south', 'southwest', 'west', 'northwest', 'center'] as const;

  it('writes the same bytes as the whole-frame composite, at every position, on odd sizes', async () => {
    const input = await grainyJpeg(1301, 977);
    for (const position of positions) {
      const settings = { ...baseSettings, position };
      const whole = await watermarkImage(input, settings, { maxInputPixels: 1e8 });
      const region = await watermarkImage(input, settings, { maxInputPixels: 1e8, regionMark: true });
      expect(region.data.equals(whole.data), position).toBe(true);
    }
  });

  it('writes the same bytes for a PNG with alpha and for a grey JPEG', async () => {
    const grey = await sharp(await grainyJpeg(900, 600))
      .greyscale()
      .jpeg()
      .toBuffer();
    for (const input of [await alphaPng(1200, 800), grey]) {
      const whole = await watermarkImage(input, baseSettings, { maxInputPixels: 1e8 });
      const region = await watermarkImage(input, baseSettings, { maxInputPixels: 1e8, regionMark: true });
      expect(region.format).toBe(whole.format);
      expect(region.data.equals(whole.data)).toBe(true);
    }
  });

  it('keeps a tiled mark on the whole frame', async () => {
    const input = await grainyJpeg(800, 600);
    const settings = { ...baseSettings, tiled: true };
    const whole = await watermarkImage(input, settings, { maxInputPixels: 1e8 });
    expect((await watermarkImage(input, settings, { maxInputPixels: 1e8, regionMark: true })).data.equals(whole.data)).toBe(true);
  });
});
