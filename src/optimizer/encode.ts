/**
 * The encoder, as a choice of effort: how much CPU each output format may spend for smaller bytes
 * at the same quality setting. `encoderOptions` is the pure mapping (effort → sharp options, tested
 * alone); `encode` applies it to a pipeline. The effort changes output bytes, so it is one of the
 * watermark settings, and of a result's identity.
 */
import type sharp from 'sharp';
import type { OutputEffort } from '../shared/contracts/watermark-settings.js';

export type EncodedFormat = 'jpeg' | 'png' | 'webp' | 'avif';

export type EncoderOptions =
  | { format: 'jpeg'; options: sharp.JpegOptions }
  | { format: 'png'; options: sharp.PngOptions }
  | { format: 'webp'; options: sharp.WebpOptions }
  | { format: 'avif'; options: sharp.AvifOptions };

/**
 * JPEG: `fast` is plain libjpeg-turbo (standard tables, no Huffman pass); `balanced` adds the
 * optimised Huffman pass and progressive scans, cheap next to the DCT; `max` is mozjpeg's defaults
 * (trellis quantisation, scan optimisation), about a third of the whole pipeline's CPU.
 * WebP `effort` is libwebp's method 0–6, AVIF's is aom's speed 0–9. PNG is lossless and stays at
 * zlib level 9 whatever the effort: its cost is the same order as the rest of the pipeline.
 */
export function encoderOptions(format: EncodedFormat, quality: number, effort: OutputEffort): EncoderOptions {
  switch (format) {
    case 'jpeg':
      return { format, options: JPEG[effort](quality) };
    case 'png':
      return { format, options: { compressionLevel: 9 } };
    case 'webp':
      return { format, options: { quality, effort: WEBP_EFFORT[effort] } };
    case 'avif':
      return { format, options: { quality, effort: AVIF_EFFORT[effort] } };
  }
}

const JPEG: Record<OutputEffort, (quality: number) => sharp.JpegOptions> = {
  fast: (quality) => ({ quality, mozjpeg: false, optimiseCoding: false }),
  balanced: (quality) => ({ quality, mozjpeg: false, optimiseCoding: true, progressive: true }),
  max: (quality) => ({ quality, mozjpeg: true }),
};
const WEBP_EFFORT: Record<OutputEffort, number> = { fast: 2, balanced: 4, max: 6 };
const AVIF_EFFORT: Record<OutputEffort, number> = { fast: 2, balanced: 4, max: 9 };

/** The pipeline's last step: `hasAlpha` because JPEG has none, and transparent areas become white rather than whatever colour hides under them. */
export function encode(pipeline: sharp.Sharp, format: EncodedFormat, quality: number, hasAlpha: boolean, effort: OutputEffort): sharp.Sharp {
  const chosen = encoderOptions(format, quality, effort);
  switch (chosen.format) {
    case 'jpeg':
      return (hasAlpha ? pipeline.flatten({ background: '#ffffff' }) : pipeline).jpeg(chosen.options);
    case 'png':
      return pipeline.png(chosen.options);
    case 'webp':
      return pipeline.webp(chosen.options);
    case 'avif':
      return pipeline.avif(chosen.options);
  }
}
