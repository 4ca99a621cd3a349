import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { UnprocessableImageError, chooseOutputFormat, classifySharpError, watermarkImage } from '../../../src/optimizer/pipeline.js';
import type { RenderSettings } from '../../../src/optimizer/settings.js';
import {
  alphaPng,
  baseSettings,
  tiledSettings,
  decodeRaw,
  gradientJpeg,
  meanAbsDiff,
  pixel,
  pngDeclaring,
  solidJpeg,
  type RawImage,
  type Region,
} from './fixtures.js';

const options = { maxInputPixels: 100_000_000 };
let photo: Buffer; // 3000x2000 gradient JPEG

/** The input through the same geometry as the pipeline, without a watermark. */
async function unmarked(input: Buffer, maxEdge: number): Promise<RawImage> {
  return decodeRaw(sharp(input).rotate().resize(maxEdge, maxEdge, { fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: false }));
}

async function marked(input: Buffer, settings: RenderSettings): Promise<RawImage> {
  return decodeRaw((await watermarkImage(input, settings, options)).data);
}

/** The mark (about 5% of the short edge, plus margin) sits well inside a 15% corner. */
function corner(image: RawImage, where: 'southeast' | 'northwest', share = 0.15): Region {
  const width = Math.round(image.width * share);
  const height = Math.round(image.height * share);
  return where === 'northwest' ? { left: 0, top: 0, width, height } : { left: image.width - width, top: image.height - height, width, height };
}

async function expectUnprocessable(input: Buffer, message: RegExp): Promise<void> {
  const attempt = watermarkImage(input, baseSettings, options);
  await expect(attempt).rejects.toBeInstanceOf(UnprocessableImageError);
  await expect(attempt).rejects.toThrow(message);
}

beforeAll(async () => {
  photo = await gradientJpeg(3000, 2000);
});

describe('watermarkImage geometry', () => {
  it('fits a large image inside maxEdge x maxEdge', async () => {
    const result = await watermarkImage(photo, baseSettings, options);
    expect(result).toMatchObject({ format: 'jpeg', contentType: 'image/jpeg', ext: 'jpg', width: 1000, height: 667 });
    const meta = await sharp(result.data).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: 'jpeg', width: 1000, height: 667 });
  });

  it('never enlarges a small image', async () => {
    const result = await watermarkImage(await gradientJpeg(300, 200), { ...baseSettings, maxEdge: 2048 }, options);
    expect({ width: result.width, height: result.height }).toEqual({ width: 300, height: 200 });
  });

  it('applies EXIF orientation 6: a landscape-stored image comes out portrait, turned clockwise', async () => {
    const stored = sharp({ create: { width: 300, height: 200, channels: 3, background: '#0000ff' } })
      .composite([{ input: { create: { width: 60, height: 60, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
      .withMetadata({ orientation: 6 })
      .jpeg();
    const result = await watermarkImage(await stored.toBuffer(), { ...baseSettings, position: 'southwest' }, options);
    expect({ width: result.width, height: result.height }).toEqual({ width: 200, height: 300 });
    const image = await decodeRaw(result.data);
    // The stored top-left red block is displayed top-right once turned 90° clockwise.
    const [r, g, b] = pixel(image, 200 - 20, 20);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(60);
    expect(b).toBeLessThan(60);
  });

  it('keeps the first frame of an animated GIF', async () => {
    const frame = (background: string) =>
      sharp({ create: { width: 120, height: 80, channels: 3, background } })
        .png()
        .toBuffer();
    const animated = await sharp([await frame('#ff0000'), await frame('#0000ff')], { join: { animated: true } })
      .gif()
      .toBuffer();
    const result = await watermarkImage(animated, { ...baseSettings, format: 'jpeg' }, options);
    expect({ width: result.width, height: result.height }).toEqual({ width: 120, height: 80 });
    const [r, , b] = pixel(await decodeRaw(result.data), 5, 5);
    expect(r).toBeGreaterThan(200);
    expect(b).toBeLessThan(60);
  });
});

describe('watermarkImage mark', () => {
  it('changes the pixels at the gravity corner and leaves the far corner as it was', async () => {
    const before = await unmarked(photo, 1000);
    const after = await marked(photo, baseSettings);
    expect(meanAbsDiff(before, after, corner(after, 'southeast'))).toBeGreaterThan(4);
    // Only re-encoding differences far from the mark.
    expect(meanAbsDiff(before, after, corner(after, 'northwest', 0.5))).toBeLessThan(1.5);
  });

  it('follows the configured position', async () => {
    const before = await unmarked(photo, 1000);
    const after = await marked(photo, { ...baseSettings, position: 'northwest' });
    expect(meanAbsDiff(before, after, corner(after, 'northwest'))).toBeGreaterThan(4);
    expect(meanAbsDiff(before, after, corner(after, 'southeast', 0.5))).toBeLessThan(1.5);
  });

  it.each([
    ['white', '#ffffff'],
    ['black', '#000000'],
  ])('is visible on a %s image', async (_name, background) => {
    const input = await solidJpeg(800, 600, background);
    const before = await unmarked(input, 1000);
    const after = await marked(input, baseSettings);
    expect(meanAbsDiff(before, after, corner(after, 'southeast'))).toBeGreaterThan(4);
  });

  it('marks several regions in tiled mode', async () => {
    const before = await unmarked(photo, 1000);
    const after = await marked(photo, tiledSettings);
    let markedCells = 0;
    const cellWidth = Math.floor(after.width / 3);
    const cellHeight = Math.floor(after.height / 3);
    for (let row = 0; row < 3; row++) {
      for (let col = 0; col < 3; col++) {
        const region = { left: col * cellWidth, top: row * cellHeight, width: cellWidth, height: cellHeight };
        if (meanAbsDiff(before, after, region) > 3) markedCells++;
      }
    }
    expect(markedCells).toBeGreaterThanOrEqual(7);
  });

  it('draws text with XML special characters instead of breaking', async () => {
    const before = await unmarked(photo, 1000);
    const after = await marked(photo, { ...baseSettings, text: `<&"'> </text><svg onload="x"> \u0000` });
    expect(meanAbsDiff(before, after, corner(after, 'southeast', 0.5))).toBeGreaterThan(3);
  });

  it('draws the logo beside the text', async () => {
    const logo = await sharp({ create: { width: 60, height: 60, channels: 3, background: '#ff0000' } })
      .png()
      .toBuffer();
    const input = await solidJpeg(800, 600, '#0000ff');
    const image = await marked(input, { ...baseSettings, logo: { name: 'red', sha256: 'f'.repeat(64) }, logoBytes: logo, opacity: 1, text: 'NWS' });
    let reddest = 0;
    const region = corner(image, 'southeast');
    for (let y = region.top; y < region.top + region.height; y++) {
      for (let x = region.left; x < region.left + region.width; x++) {
        const [r = 0, , b = 0] = pixel(image, x, y);
        reddest = Math.max(reddest, r - b);
      }
    }
    expect(reddest).toBeGreaterThan(150);
  });

  it('leaves the image unchanged apart from re-encoding at opacity 0', async () => {
    const before = await unmarked(photo, 1000);
    const after = await marked(photo, { ...baseSettings, opacity: 0 });
    expect(meanAbsDiff(before, after, corner(after, 'southeast'))).toBeLessThan(1.5);
  });
});

describe('watermarkImage output', () => {
  it('keeps transparency: a PNG with alpha comes out as PNG with its transparent pixels still transparent', async () => {
    const result = await watermarkImage(await alphaPng(400, 300), baseSettings, options);
    expect(result).toMatchObject({ format: 'png', contentType: 'image/png', ext: 'png' });
    const meta = await sharp(result.data).metadata();
    expect(meta.hasAlpha).toBe(true);
    const image = await decodeRaw(result.data);
    for (const [x, y] of [
      [0, 0],
      [50, 150],
      [99, 299],
    ] as const)
      expect(pixel(image, x, y)[3]).toBe(0);
    expect(pixel(image, 200, 10)[3]).toBe(255);
  });

  it('flattens transparency onto white when JPEG is asked for explicitly', async () => {
    const result = await watermarkImage(await alphaPng(400, 300), { ...baseSettings, format: 'jpeg' }, options);
    expect(result.format).toBe('jpeg');
    const [r, g, b] = pixel(await decodeRaw(result.data), 10, 10);
    expect(Math.min(r!, g!, b!)).toBeGreaterThan(240);
  });

  it.each([
    ['webp', 'webp', 'image/webp', 'webp'],
    ['avif', 'heif', 'image/avif', 'avif'],
    ['png', 'png', 'image/png', 'png'],
  ] as const)('encodes %s when asked, and sharp decodes it', async (format, sharpFormat, contentType, ext) => {
    const result = await watermarkImage(await gradientJpeg(320, 240), { ...baseSettings, format, maxEdge: 256 }, options);
    expect(result).toMatchObject({ format, contentType, ext, width: 256, height: 192 });
    const meta = await sharp(result.data).metadata();
    expect({ format: meta.format, width: meta.width, height: meta.height }).toEqual({ format: sharpFormat, width: 256, height: 192 });
    if (format === 'avif') expect(meta.compression).toBe('av1');
    // An opaque input stays opaque: no alpha channel added by the overlay.
    expect(meta.hasAlpha).toBe(false);
    await expect(decodeRaw(result.data)).resolves.toMatchObject({ width: 256 });
  });

  it('strips EXIF, ICC and orientation from the output', async () => {
    const input = await sharp(await gradientJpeg(400, 300))
      .withIccProfile('p3')
      .withExif({ IFD0: { Copyright: 'secret owner', Make: 'Camera' } })
      .withMetadata({ orientation: 3 })
      .jpeg()
      .toBuffer();
    const inputMeta = await sharp(input).metadata();
    expect(inputMeta.exif).toBeDefined();
    expect(inputMeta.icc).toBeDefined();
    for (const format of ['jpeg', 'webp', 'png'] as const) {
      const result = await watermarkImage(input, { ...baseSettings, format }, options);
      const meta = await sharp(result.data).metadata();
      expect({ exif: meta.exif, icc: meta.icc, xmp: meta.xmp, orientation: meta.orientation }).toEqual({
        exif: undefined,
        icc: undefined,
        xmp: undefined,
        orientation: undefined,
      });
      expect(result.data.includes('secret owner')).toBe(false);
    }
  });

  it('chooses JPEG for opaque and PNG for transparent inputs in auto mode; an explicit format wins', () => {
    expect(chooseOutputFormat('auto', false)).toBe('jpeg');
    expect(chooseOutputFormat('auto', true)).toBe('png');
    expect(chooseOutputFormat('webp', true)).toBe('webp');
    expect(chooseOutputFormat('jpeg', true)).toBe('jpeg');
  });
});

describe('watermarkImage refuses bad input', () => {
  it('a truncated JPEG', async () => {
    await expectUnprocessable(photo.subarray(0, Math.floor(photo.length * 0.6)), /truncated or corrupt/);
  });

  it('random bytes', async () => {
    await expectUnprocessable(randomBytes(4096), /not a supported image type/);
  });

  it('random bytes behind a JPEG signature', async () => {
    await expectUnprocessable(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes(4096)]), /.+/);
  });

  it('an empty input', async () => {
    await expectUnprocessable(Buffer.alloc(0), /empty/);
  });

  it('an SVG, even a valid one', async () => {
    await expectUnprocessable(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'), /not a supported image type/);
  });

  it('a pixel bomb: a small PNG declaring 30000x30000, before decoding it', async () => {
    const bomb = pngDeclaring(30_000, 30_000);
    expect(bomb.length).toBeLessThan(2_000);
    await expectUnprocessable(bomb, /exceeds pixel limit/);
  });

  it('an image just over a lower configured pixel limit', async () => {
    const attempt = watermarkImage(await gradientJpeg(101, 100), baseSettings, { maxInputPixels: 10_000 });
    await expect(attempt).rejects.toThrow(UnprocessableImageError);
    await expect(attempt).rejects.toThrow(/exceeds pixel limit/);
  });

  it('a PNG declaring zero width', async () => {
    await expectUnprocessable(pngDeclaring(0, 10), /.+/);
  });
});

describe('classifySharpError', () => {
  it.each([
    ['Input image exceeds pixel limit', /exceeds pixel limit/],
    ['Input buffer contains unsupported image format', /not a supported image type/],
    ['VipsJpeg: premature end of JPEG image', /truncated or corrupt/],
    ['pngload_buffer: end of stream', /truncated or corrupt/],
    ['Input buffer has corrupt header: gifload_buffer: Unexpected end of GIF source data', /truncated or corrupt/],
    ['heif: Unsupported feature: Unsupported codec (4.3000)', /cannot decode/],
  ])('treats "%s" as a problem with the input', (message, expected) => {
    const classified = classifySharpError(new Error(message));
    expect(classified).toBeInstanceOf(UnprocessableImageError);
    expect(classified?.message).toMatch(expected);
  });

  it.each(['Image to composite must have same dimensions or smaller', 'vips_malloc: out of memory', 'Expected integer for quality'])(
    'leaves "%s" as an internal error',
    (message) => {
      expect(classifySharpError(new Error(message))).toBeUndefined();
    },
  );
});
