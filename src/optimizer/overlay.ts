/**
 * The watermark as an SVG overlay for sharp's composite: text (white with a dark outline so it reads
 * on light and dark images) and an optional logo, scaled to the output image. Building the SVG is
 * pure; only `measureText` renders, once per text, to learn the glyphs' real extent so that the mark
 * box is tight and the margin exact whatever the font or script.
 */
import sharp from 'sharp';
import type { WatermarkSettings } from '../shared/contracts/watermark-settings.js';
import { marginPx, placeBox, rotatedBox, type Size } from './geometry.js';
import type { PreparedLogo } from './logo.js';

/** Ink extent of a text, in em, relative to its origin (x) and baseline (y). */
export interface TextMetrics {
  left: number;
  right: number;
  ascent: number;
  descent: number;
}

/** Where sharp composites the overlay: at a place, or repeated from the centre over the whole image. */
export type Overlay = { svg: string; width: number; height: number } & ({ tile: false; left: number; top: number } | { tile: true });

export interface MarkParts {
  text?: { value: string; metrics: TextMetrics };
  logo?: PreparedLogo;
}

// Fonts every Debian-based image has (fonts-dejavu-core); the others are fallbacks.
const FONT_FAMILY = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
/** Outline width in em; half of it lies outside the glyphs, which the measurement includes. */
const STROKE_EM = 0.08;
/** Font size as a share of the image's short edge: legible, not dominant. */
const FONT_SHARE = 0.05;
const TILED_FONT_SHARE = 0.04;
/** A single mark never covers more than this share of either dimension. */
const MAX_MARK_SHARE = 0.9;
/** A margin in pixels shrinks on small images so the mark still fits. */
const MAX_MARGIN_SHARE = 0.1;
const LOGO_HEIGHT_EM = 1.2;
const LOGO_GAP_EM = 0.3;

const measured = new Map<string, Promise<TextMetrics | undefined>>();
const MEASURE_CACHE_LIMIT = 32;

/** Ink extent of `text` in em, or undefined when it draws nothing (blank text). Cached per text. */
export function measureText(text: string): Promise<TextMetrics | undefined> {
  let metrics = measured.get(text);
  if (!metrics) {
    if (measured.size >= MEASURE_CACHE_LIMIT) measured.clear();
    metrics = renderAndMeasure(text);
    measured.set(text, metrics);
    // Every caller still gets the rejection; this only forgets it, so the next call measures again.
    metrics.catch(() => measured.delete(text));
  }
  return metrics;
}

const MEASURE_FONT_PX = 48;

async function renderAndMeasure(text: string): Promise<TextMetrics | undefined> {
  const em = MEASURE_FONT_PX;
  const originX = em;
  const baseline = 2 * em;
  const height = 3 * em;
  // Generous width per character; widened and retried if the ink still reaches the right edge.
  for (let perChar = 1.5; perChar <= 6; perChar *= 2) {
    const width = Math.ceil(Array.from(text).length * em * perChar + 2 * em); // code points: a generous estimate
    const svg = svgDocument(width, height, textElement(text, originX, baseline, em));
    const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const box = inkBox(data, info.width, info.height, info.channels);
    if (!box) return undefined;
    if (box.right < info.width - 1) {
      return {
        left: (box.left - originX) / em,
        right: (box.right + 1 - originX) / em,
        ascent: (baseline - box.top) / em,
        descent: (box.bottom + 1 - baseline) / em,
      };
    }
  }
  throw new Error(`Watermark text is too wide to measure: ${JSON.stringify(text.slice(0, 40))}`);
}

function inkBox(data: Buffer, width: number, height: number, channels: number): { left: number; right: number; top: number; bottom: number } | undefined {
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if ((data[(y * width + x) * channels + channels - 1] ?? 0) === 0) continue;
      if (x < left) left = x;
      if (x > right) right = x;
      if (y < top) top = y;
      if (y > bottom) bottom = y;
    }
  }
  return right < 0 ? undefined : { left, right, top, bottom };
}

/**
 * The overlay for an output image of `size`, or undefined when there is nothing to draw (blank text
 * and no logo, zero opacity, or an image too small to carry a mark).
 */
export function buildOverlay(size: Size, settings: WatermarkSettings, parts: MarkParts): Overlay | undefined {
  if (settings.opacity <= 0 || (!parts.text && !parts.logo)) return undefined;
  return settings.tile ? tiledOverlay(size, settings, parts) : placedOverlay(size, settings, parts);
}

/**
 * One mark, turned by `rotate`, its bounding box `offsetX`/`offsetY` from the edges `position`
 * names. Its size: `scale` × the image's width, else a share of the short edge; never more than
 * MAX_MARK_SHARE of the image, nor than what the margins leave.
 */
function placedOverlay(size: Size, settings: WatermarkSettings, parts: MarkParts): Overlay | undefined {
  const short = Math.min(size.width, size.height);
  const maxMarginPx = Math.floor(short * MAX_MARGIN_SHARE);
  const margin = { x: marginPx(settings.offsetX, size.width, maxMarginPx), y: marginPx(settings.offsetY, size.height, maxMarginPx) };
  const unitMark = layoutMark(1, parts);
  const unit = rotatedBox(unitMark.width, unitMark.height, settings.rotate);
  const maxWidth = Math.min(size.width * MAX_MARK_SHARE, size.width - 2 * margin.x);
  const maxHeight = Math.min(size.height * MAX_MARK_SHARE, size.height - 2 * margin.y);
  const wanted = settings.scale === null ? short * FONT_SHARE : (settings.scale * size.width) / unit.width;
  const fontSize = Math.min(wanted, maxWidth / unit.width, maxHeight / unit.height);
  if (!(fontSize >= 1)) return undefined;
  const mark = layoutMark(fontSize, parts);
  const box = rotatedBox(mark.width, mark.height, settings.rotate);
  const width = Math.min(size.width, Math.ceil(box.width));
  const height = Math.min(size.height, Math.ceil(box.height));
  const { left, top } = placeBox(size, { width, height }, settings.position, margin);
  return { svg: svgDocument(width, height, group(settings.opacity, turned(mark, width, height, settings.rotate))), width, height, tile: false, left, top };
}

/** One turned mark per tile, `spacing` × the text size apart; sharp repeats the tile across the image. */
function tiledOverlay(size: Size, settings: WatermarkSettings, parts: MarkParts): Overlay | undefined {
  const short = Math.min(size.width, size.height);
  const tileFor = (fontSize: number) => {
    const mark = layoutMark(fontSize, parts);
    const box = rotatedBox(mark.width, mark.height, settings.rotate);
    const gap = settings.spacing * fontSize;
    return { mark, width: box.width + gap, height: box.height + gap };
  };
  const unit = tileFor(1);
  const unitMark = layoutMark(1, parts);
  const wanted = settings.scale === null ? short * TILED_FONT_SHARE : (settings.scale * size.width) / unitMark.width;
  // A tile larger than the image is not allowed by sharp; shrink the mark until one tile fits.
  const fontSize = Math.min(wanted, size.width / unit.width, size.height / unit.height);
  if (!(fontSize >= 1)) return undefined;
  const tile = tileFor(fontSize);
  const width = Math.min(size.width, Math.ceil(tile.width));
  const height = Math.min(size.height, Math.ceil(tile.height));
  return { svg: svgDocument(width, height, group(settings.opacity, turned(tile.mark, width, height, settings.rotate))), width, height, tile: true };
}

/** The mark turned by `degrees` about the centre of a `width` × `height` box; level marks are drawn as they are. */
function turned(mark: { width: number; height: number; body: string }, width: number, height: number, degrees: number): string {
  if (degrees === 0) return `<g transform="translate(${num((width - mark.width) / 2)} ${num((height - mark.height) / 2)})">${mark.body}</g>`;
  return (
    `<g transform="translate(${num(width / 2)} ${num(height / 2)}) rotate(${num(degrees)}) ` +
    `translate(${num(-mark.width / 2)} ${num(-mark.height / 2)})">${mark.body}</g>`
  );
}

/** Logo then text on one line, drawn from (0,0); width and height are the ink box in pixels. */
function layoutMark(fontSize: number, { text, logo }: MarkParts): { width: number; height: number; body: string } {
  const logoHeight = logo ? LOGO_HEIGHT_EM * fontSize : 0;
  const logoWidth = logo ? (logoHeight * logo.width) / logo.height : 0;
  const gap = logo && text ? LOGO_GAP_EM * fontSize : 0;
  const textWidth = text ? (text.metrics.right - text.metrics.left) * fontSize : 0;
  const textHeight = text ? (text.metrics.ascent + text.metrics.descent) * fontSize : 0;
  const height = Math.max(logoHeight, textHeight);
  const elements: string[] = [];
  if (logo) {
    elements.push(
      `<image href="${logo.dataUri}" x="0" y="${num((height - logoHeight) / 2)}" ` +
        `width="${num(logoWidth)}" height="${num(logoHeight)}" preserveAspectRatio="none"/>`,
    );
  }
  if (text) {
    const x = logoWidth + gap - text.metrics.left * fontSize;
    const baseline = (height - textHeight) / 2 + text.metrics.ascent * fontSize;
    elements.push(textElement(text.value, x, baseline, fontSize));
  }
  return { width: logoWidth + gap + textWidth, height, body: elements.join('') };
}

function textElement(text: string, x: number, baseline: number, fontSize: number): string {
  // paint-order draws the outline under the fill, so the letters keep their full width.
  return (
    `<text x="${num(x)}" y="${num(baseline)}" font-family="${FONT_FAMILY}" font-weight="bold" ` +
    `font-size="${num(fontSize)}" fill="#ffffff" stroke="#000000" stroke-opacity="0.85" ` +
    `stroke-width="${num(STROKE_EM * fontSize)}" stroke-linejoin="round" paint-order="stroke">${escapeXml(text)}</text>`
  );
}

function group(opacity: number, body: string): string {
  // Group opacity (not per-element) so the outline does not show through the fill.
  return `<g opacity="${num(opacity)}">${body}</g>`;
}

function svgDocument(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` + `viewBox="0 0 ${width} ${height}">${body}</svg>`;
}

/**
 * Text content safe for XML: the five special characters escaped, and the characters XML 1.0 forbids
 * (control characters, lone surrogates, U+FFFE/U+FFFF) dropped, since one of them would make
 * librsvg reject the whole overlay.
 */
// eslint-disable-next-line no-control-regex -- removing the control characters XML forbids is the point
const XML_FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeXml(text: string): string {
  return text.replace(XML_FORBIDDEN, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function num(value: number): string {
  return String(Math.round(value * 100) / 100);
}
