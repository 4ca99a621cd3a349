/** Images for the optimizer tests, generated with sharp on the fly (no committed binaries), and pixel comparisons. */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { expect } from 'vitest';
import type { RenderSettings } from '../../../src/optimizer/settings.js';
import { DEFAULT_SETTINGS } from '../../helpers/watermark.js';

export const baseSettings: RenderSettings = { ...DEFAULT_SETTINGS, opacity: 0.6, maxEdge: 1000 };
/** `baseSettings` tiled as `default` tiles: turned -30°. */
export const tiledSettings: RenderSettings = { ...baseSettings, tile: true, rotate: -30 };

/** A smooth diagonal gradient: compresses like a photograph and shows any overlay clearly. */
export function gradientPixels(width: number, height: number, channels: 3 | 4 = 3): Buffer {
  const data = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      data[i] = Math.round((x * 255) / width);
      data[i + 1] = Math.round((y * 255) / height);
      data[i + 2] = 128;
      if (channels === 4) data[i + 3] = 255;
    }
  }
  return data;
}

export function gradientJpeg(width: number, height: number): Promise<Buffer> {
  return sharp(gradientPixels(width, height), { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export function solidJpeg(width: number, height: number, background: string): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background } })
    .jpeg()
    .toBuffer();
}

/** A gradient PNG whose left quarter is fully transparent. */
export function alphaPng(width: number, height: number): Promise<Buffer> {
  const data = gradientPixels(width, height, 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width / 4; x++) data[(y * width + x) * 4 + 3] = 0;
  }
  return sharp(data, { raw: { width, height, channels: 4 } })
    .png()
    .toBuffer();
}

/** A tiny, valid-looking PNG whose IHDR declares `width` × `height`: a decompression bomb's header. */
export function pngDeclaring(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // RGB
  const idat = deflateSync(Buffer.alloc(1024));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', idat),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

export async function decodeRaw(image: Buffer | sharp.Sharp): Promise<RawImage> {
  const pipeline = Buffer.isBuffer(image) ? sharp(image) : image;
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Mean absolute difference of the colour channels of two same-sized images over a region (0…255). */
export function meanAbsDiff(a: RawImage, b: RawImage, region: Region): number {
  expect(a.width).toBe(b.width);
  expect(a.height).toBe(b.height);
  let sum = 0;
  let count = 0;
  for (let y = region.top; y < region.top + region.height; y++) {
    for (let x = region.left; x < region.left + region.width; x++) {
      for (let c = 0; c < 3; c++) {
        sum += Math.abs((a.data[(y * a.width + x) * a.channels + c] ?? 0) - (b.data[(y * b.width + x) * b.channels + c] ?? 0));
        count++;
      }
    }
  }
  return sum / count;
}

export function pixel(image: RawImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * image.channels;
  return [...image.data.subarray(i, i + image.channels)];
}
