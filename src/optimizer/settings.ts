/**
 * Watermark settings: what the pipeline does to every image, built once from the optimizer's
 * configuration, and a fingerprint of them. The api and the worker key cached results by that
 * fingerprint, so any change that alters output bytes must change it — including the logo's bytes
 * and the pipeline code itself (PIPELINE_VERSION).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError, type OptimizerConfig } from '../shared/config.js';
import { SUPPORTED_FORMATS_WORDING, supportedImageType } from '../shared/image-type.js';
import { prepareLogo } from './logo.js';
import { errorMessage } from '../shared/errors.js';

/** Bump whenever pipeline code changes what it outputs for the same settings. */
export const PIPELINE_VERSION = '1';

export type WatermarkPosition = OptimizerConfig['WATERMARK_POSITION'];
export type OutputFormatSetting = OptimizerConfig['OUTPUT_FORMAT'];

export interface WatermarkSettings {
  readonly text: string;
  /** Raw bytes of the logo file (one of SUPPORTED_FORMATS); drawn left of the text. */
  readonly logo?: Buffer;
  /** sharp gravity name: where the mark sits when not tiled. */
  readonly position: WatermarkPosition;
  /** 0 (invisible) … 1 (opaque). */
  readonly opacity: number;
  /** Distance in pixels between the mark and the image edges (shrunk on small images). */
  readonly margin: number;
  /** Repeat the mark across the whole image instead of one corner. */
  readonly tiled: boolean;
  /** Output fits inside maxEdge × maxEdge; smaller images are never enlarged. */
  readonly maxEdge: number;
  /** 'auto': JPEG, or PNG when the input has an alpha channel. */
  readonly format: OutputFormatSetting;
  /** Encoder quality 1…100 for JPEG, WebP and AVIF (PNG output is lossless). */
  readonly quality: number;
}

export async function settingsFromConfig(config: OptimizerConfig): Promise<WatermarkSettings> {
  const settings: WatermarkSettings = {
    text: config.WATERMARK_TEXT,
    position: config.WATERMARK_POSITION,
    opacity: config.WATERMARK_OPACITY,
    margin: config.WATERMARK_MARGIN,
    tiled: config.WATERMARK_TILED,
    maxEdge: config.RESIZE_MAX_EDGE,
    format: config.OUTPUT_FORMAT,
    quality: config.OUTPUT_QUALITY,
  };
  if (config.WATERMARK_LOGO_PATH === '') return settings;
  return { ...settings, logo: await readLogo(config.WATERMARK_LOGO_PATH) };
}

async function readLogo(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const reason = errorMessage(err);
    throw new ConfigError([`WATERMARK_LOGO_PATH: cannot read the logo file (${reason}) (received ${JSON.stringify(path)})`]);
  }
  if (supportedImageType(bytes) === undefined) {
    throw new ConfigError([`WATERMARK_LOGO_PATH: expected a ${SUPPORTED_FORMATS_WORDING} image, the file is not one (received ${JSON.stringify(path)})`]);
  }
  try {
    await prepareLogo(bytes);
  } catch (err) {
    const reason = errorMessage(err).split('\n')[0];
    throw new ConfigError([`WATERMARK_LOGO_PATH: the logo image cannot be decoded (${reason}) (received ${JSON.stringify(path)})`]);
  }
  return bytes;
}

/**
 * sha256 hex over a canonical JSON of every setting (keys in a fixed order, the logo replaced by the
 * sha256 of its bytes) plus PIPELINE_VERSION.
 */
export function settingsFingerprint(settings: WatermarkSettings): string {
  const canonical = JSON.stringify([
    ['pipelineVersion', PIPELINE_VERSION],
    ['text', settings.text],
    ['logoSha256', settings.logo ? sha256(settings.logo) : null],
    ['position', settings.position],
    ['opacity', settings.opacity],
    ['margin', settings.margin],
    ['tiled', settings.tiled],
    ['maxEdge', settings.maxEdge],
    ['format', settings.format],
    ['quality', settings.quality],
  ]);
  return sha256(canonical);
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
