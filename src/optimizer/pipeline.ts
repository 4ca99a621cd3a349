/**
 * The watermark pipeline: one sharp (libvips) pass per image — decode, auto-orient, fit inside the
 * configured box, composite the mark, encode — behind one function. Input problems surface as
 * UnprocessableImageError (the caller answers 422 and never retries); anything else propagates.
 */
import sharp from 'sharp';
import { SUPPORTED_FORMATS_WORDING, extensionForFormat, mimeForFormat, supportedImageType } from '../shared/image-type.js';
import { outputSize } from './geometry.js';
import { compositeOnRegion, renderMark } from './composite-region.js';
import { encode } from './encode.js';
import { prepareLogo } from './logo.js';
import { buildOverlay, measureText, type MarkParts } from './overlay.js';
import type { OutputFormatSetting } from '../shared/contracts/watermark-settings.js';
import type { RenderSettings } from './settings.js';

export type OutputFormat = 'jpeg' | 'png' | 'webp' | 'avif';

export interface WatermarkedImage {
  data: Buffer;
  format: OutputFormat;
  contentType: string;
  ext: string;
  width: number;
  height: number;
}

export interface PipelineOptions {
  /** Width × height above which the input is refused before any pixel is decoded. */
  maxInputPixels: number;
  /** Composite a placed (not tiled) mark onto the pixels under it only (composite-region.ts): same pixels, less CPU. */
  regionMark?: boolean;
}

/** The input itself is the problem: retrying the same bytes can never succeed. */
export class UnprocessableImageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnprocessableImageError';
  }
}

/** sharp's names for what libvips decodes for us ('heif' is AVIF's container); SVG/PDF/other loaders stay out. */
const DECODABLE_FORMATS = new Set(['jpeg', 'png', 'gif', 'webp', 'heif', 'tiff']);

export async function watermarkImage(
  input: Buffer,
  settings: RenderSettings,
  { maxInputPixels, regionMark = false }: PipelineOptions,
): Promise<WatermarkedImage> {
  if (input.length === 0) throw new UnprocessableImageError('Input is empty');
  if (!supportedImageType(input)) {
    throw new UnprocessableImageError(`Input is not a supported image type (${SUPPORTED_FORMATS_WORDING})`);
  }
  const image = sharp(input, {
    limitInputPixels: maxInputPixels,
    // 'error' aborts on decode errors, which includes truncated data ('truncated' < 'error'), but not
    // on mere warnings ('warning'), which many real-world camera and editor files trigger.
    failOn: 'error',
    // Animated GIF/WebP and multi-page TIFF: the first frame only. The product is a still, optimized
    // image (the default output, JPEG, cannot animate) and work stays bounded by one frame.
    animated: false,
  });
  // Header only: no pixel is decoded here; the single decode happens in toBuffer below.
  const meta = await image.metadata().catch((err: unknown) => {
    // Reading a header fails only because of the header.
    throw classifySharpError(err) ?? new UnprocessableImageError('Input cannot be decoded', { cause: err });
  });
  if (!DECODABLE_FORMATS.has(meta.format)) {
    throw new UnprocessableImageError(`Input is not a supported image type (decoded as ${meta.format})`);
  }
  if (!meta.width || !meta.height) throw new UnprocessableImageError('Input image has zero width or height');

  const size = outputSize({ width: meta.width, height: meta.height, orientation: meta.orientation, format: meta.format }, settings.maxEdge);
  const overlay = buildOverlay(size, settings, await markParts(settings));
  const format = chooseOutputFormat(settings.format, meta.hasAlpha);

  let pipeline = image.rotate().resize(settings.maxEdge, settings.maxEdge, {
    fit: 'inside',
    withoutEnlargement: true,
    // Shrink-on-load leaves at least a factor of two to the lanczos kernel: no moiré on the
    // product's output, and geometry.ts replays exactly this setting.
    fastShrinkOnLoad: false,
  });
  if (overlay && regionMark && !overlay.tile) {
    const mark = { ...(await renderMark(overlay.svg)), left: overlay.left, top: overlay.top };
    pipeline = await compositeOnRegion(pipeline, mark).catch((err: unknown) => {
      throw classifySharpError(err) ?? err;
    });
  } else if (overlay) {
    const placement = overlay.tile ? { gravity: 'center', tile: true } : { left: overlay.left, top: overlay.top };
    pipeline = pipeline.composite([{ input: Buffer.from(overlay.svg), ...placement }]);
    // Compositing adds an alpha channel; an opaque input must not come out as a heavier RGBA file.
    if (!meta.hasAlpha) pipeline = pipeline.removeAlpha();
  }
  // Metadata (EXIF, ICC, XMP) is stripped by sharp's default, after conversion to sRGB; we never
  // call withMetadata/keepExif, so no location or camera data leaks into the output.
  pipeline = encode(pipeline, format, settings.quality, meta.hasAlpha, settings.effort);

  const { data, info } = await pipeline.toBuffer({ resolveWithObject: true }).catch((err: unknown) => {
    throw classifySharpError(err) ?? err;
  });
  return { data, format, contentType: mimeForFormat(format), ext: extensionForFormat(format), width: info.width, height: info.height };
}

/** 'auto' keeps transparency (PNG) when the input has an alpha channel, otherwise JPEG. */
export function chooseOutputFormat(setting: OutputFormatSetting, hasAlpha: boolean): OutputFormat {
  if (setting !== 'auto') return setting;
  return hasAlpha ? 'png' : 'jpeg';
}

async function markParts(settings: RenderSettings): Promise<MarkParts> {
  const [metrics, logo] = await Promise.all([measureText(settings.text), settings.logoBytes ? prepareLogo(settings.logoBytes) : Promise.resolve(undefined)]);
  return { ...(metrics ? { text: { value: settings.text, metrics } } : {}), ...(logo ? { logo } : {}) };
}

/**
 * Maps libvips/sharp failures that are about the input bytes to UnprocessableImageError; returns
 * undefined for the rest (out of memory, our own bugs), which must stay 500s.
 */
export function classifySharpError(err: unknown): UnprocessableImageError | undefined {
  if (!(err instanceof Error)) return undefined;
  const message = err.message;
  if (/exceeds pixel limit/i.test(message)) return new UnprocessableImageError('Input image exceeds pixel limit', { cause: err });
  if (/unsupported image format/i.test(message)) {
    return new UnprocessableImageError('Input is not a supported image type', { cause: err });
  }
  if (/input (buffer|file) is empty/i.test(message)) return new UnprocessableImageError('Input is empty', { cause: err });
  if (/unsupported (codec|feature)/i.test(message)) {
    // Typically HEIC: libvips as shipped with sharp decodes AVIF but has no HEVC decoder.
    return new UnprocessableImageError('Input uses a compression this service cannot decode', { cause: err });
  }
  const inputProblem =
    /premature end|truncated|corrupt|end of (stream|file|data)|unexpected end|bad seek|invalid input|not a known file format/i.test(message) ||
    // Loader errors name the loader: "VipsJpeg: …", "pngload_buffer: …", "heif: …", "gifload_source: …".
    /^(VipsJpeg|VipsPng|VipsGif|VipsTiff|VipsForeignLoad\w*|\w+load(_buffer|_source)?|heif|tiff2vips|webp|libspng|gif)\b/i.test(message) ||
    /^Input (buffer|image|file)/i.test(message);
  return inputProblem ? new UnprocessableImageError('Input is truncated or corrupt', { cause: err }) : undefined;
}
