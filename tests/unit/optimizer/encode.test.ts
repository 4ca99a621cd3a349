/** The encoder's effort mapping and OUTPUT_EFFORT's parsing. */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { encode, encoderOptions } from '../../../src/optimizer/encode.js';
import type { OutputEffort } from '../../../src/shared/contracts/watermark-settings.js';
import { loadConfig, optimizerEnv } from '../../../src/shared/config.js';
import { gradientPixels } from './fixtures.js';

const EFFORTS: OutputEffort[] = ['fast', 'balanced', 'max'];

describe('encoderOptions', () => {
  it('maps each effort to its JPEG encoder: plain libjpeg-turbo, then Huffman and progressive, then mozjpeg', () => {
    expect(encoderOptions('jpeg', 80, 'fast')).toEqual({ format: 'jpeg', options: { quality: 80, mozjpeg: false, optimiseCoding: false } });
    expect(encoderOptions('jpeg', 80, 'balanced')).toEqual({
      format: 'jpeg',
      options: { quality: 80, mozjpeg: false, optimiseCoding: true, progressive: true },
    });
    expect(encoderOptions('jpeg', 80, 'max')).toEqual({ format: 'jpeg', options: { quality: 80, mozjpeg: true } });
  });

  it('gives WebP methods 2, 4, 6 and AVIF efforts 2, 4, 9, at the quality asked', () => {
    expect(EFFORTS.map((e) => encoderOptions('webp', 70, e).options)).toEqual([2, 4, 6].map((effort) => ({ quality: 70, effort })));
    expect(EFFORTS.map((e) => encoderOptions('avif', 70, e).options)).toEqual([2, 4, 9].map((effort) => ({ quality: 70, effort })));
  });

  it('keeps PNG lossless at zlib level 9 whatever the effort', () => {
    for (const effort of EFFORTS) expect(encoderOptions('png', 80, effort)).toEqual({ format: 'png', options: { compressionLevel: 9 } });
  });
});

describe('encode', () => {
  const raw = { raw: { width: 64, height: 48, channels: 4 as const } };
  const withAlpha = () => sharp(gradientPixels(64, 48, 4), raw);

  it('writes a decodable JPEG at every effort, flattening transparency', async () => {
    for (const effort of EFFORTS) {
      const meta = await sharp(await encode(withAlpha(), 'jpeg', 80, true, effort).toBuffer()).metadata();
      expect(meta).toMatchObject({ format: 'jpeg', channels: 3, isProgressive: effort !== 'fast' });
    }
  });

  it('writes the format asked for', async () => {
    for (const format of ['png', 'webp', 'avif'] as const) {
      expect((await sharp(await encode(withAlpha(), format, 60, true, 'fast').toBuffer()).metadata()).format).toBe(format === 'avif' ? 'heif' : format);
    }
  });
});

describe('OUTPUT_EFFORT', () => {
  it('defaults to fast, the best bytes per CPU the bench measured, and takes the three names', () => {
    expect(loadConfig(optimizerEnv, {}).OUTPUT_EFFORT).toBe('fast');
    for (const effort of EFFORTS) expect(loadConfig(optimizerEnv, { OUTPUT_EFFORT: effort }).OUTPUT_EFFORT).toBe(effort);
  });

  it('refuses another value, naming the variable and what it received', () => {
    expect(() => loadConfig(optimizerEnv, { OUTPUT_EFFORT: 'turbo' })).toThrow(/OUTPUT_EFFORT: .*\(received "turbo"\)/);
  });
});
