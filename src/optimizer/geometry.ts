/**
 * Output dimensions of the pipeline, computed from the input header alone. The watermark overlay is
 * sized before the single decode runs, so this replays sharp's own resize arithmetic
 * (`ResolveShrink` and JPEG shrink-on-load in sharp's src/pipeline.cc) instead of encoding twice to
 * find out. A unit test checks it against sharp on many sizes; if a sharp upgrade drifts, the test
 * says so (and the overlay stays smaller than the image anyway, so a drift cannot break a request).
 */

export interface Size {
  width: number;
  height: number;
}

export interface InputGeometry extends Size {
  /** EXIF orientation 1…8; 5…8 swap width and height once applied. */
  orientation?: number;
  /** sharp's metadata `format`: only 'jpeg' decodes with shrink-on-load. */
  format?: string;
}

/**
 * Size after `.rotate()` (auto-orient) and `.resize(maxEdge, maxEdge, { fit: 'inside',
 * withoutEnlargement: true, fastShrinkOnLoad: false })`.
 */
export function outputSize(input: InputGeometry, maxEdge: number): Size {
  const resized = fitInside(input, maxEdge, input.format === 'jpeg');
  return swapsAxes(input.orientation) ? { width: resized.height, height: resized.width } : resized;
}

export function swapsAxes(orientation: number | undefined): boolean {
  return orientation !== undefined && orientation >= 5 && orientation <= 8;
}

function fitInside({ width, height }: Size, maxEdge: number, jpeg: boolean): Size {
  let w = width;
  let h = height;
  if (jpeg) {
    const factor = jpegShrinkOnLoad(w, h, maxEdge);
    // libvips' jpegload rounds the shrunk size down.
    w = Math.max(1, Math.floor(w / factor));
    h = Math.max(1, Math.floor(h / factor));
  }
  const [hshrink, vshrink] = resolveShrink(w, h, maxEdge);
  // vips_resize rounds half up (VIPS_ROUND_UINT) and multiplies by the reciprocal, as here.
  return { width: roundHalfUp(w * (1 / hshrink)), height: roundHalfUp(h * (1 / vshrink)) };
}

/** sharp's ResolveShrink for a fit-inside box with withoutEnlargement. */
function resolveShrink(width: number, height: number, maxEdge: number): [number, number] {
  const shrink = Math.max(1, width / maxEdge, height / maxEdge);
  // Never shrink an axis below one pixel.
  return [Math.min(shrink, width), Math.min(shrink, height)];
}

/** With fastShrinkOnLoad false sharp leaves at least a factor of two to its own resize kernel. */
function jpegShrinkOnLoad(width: number, height: number, maxEdge: number): number {
  const [hshrink, vshrink] = resolveShrink(width, height, maxEdge);
  const shrink = Math.min(hshrink, vshrink);
  let factor = shrink >= 16 ? 8 : shrink >= 8 ? 4 : shrink >= 4 ? 2 : 1;
  // sharp lowers the factor where libjpeg is known to round badly.
  if (factor > 1 && Math.trunc(shrink) === factor) factor /= 2;
  return factor;
}

function roundHalfUp(x: number): number {
  return Math.floor(x + 0.5);
}
