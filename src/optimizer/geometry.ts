/**
 * Output dimensions of the pipeline, computed from the input header alone. The watermark overlay is
 * sized before the single decode runs, so this replays sharp's own resize arithmetic
 * (`ResolveShrink` and JPEG shrink-on-load in sharp's src/pipeline.cc) instead of encoding twice to
 * find out. A unit test checks it against sharp on many sizes; if a sharp upgrade drifts, the test
 * says so (and the overlay stays smaller than the image anyway, so a drift cannot break a request).
 * It also places the mark: gravity, margins and rotation.
 */
import { parseLength, type Gravity } from '../shared/contracts/watermark-settings.js';

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

/** Where a box of `box` size goes in an image of `size`: the gravity's edges, `margin` px away from them. */
export function placeBox(size: Size, box: Size, gravity: Gravity, margin: { x: number; y: number }): { left: number; top: number } {
  const [vertical, horizontal] = GRAVITY_AXES[gravity];
  return {
    left: along(horizontal, size.width, box.width, margin.x),
    top: along(vertical, size.height, box.height, margin.y),
  };
}

type Side = 'start' | 'centre' | 'end';

const GRAVITY_AXES: Record<Gravity, [vertical: Side, horizontal: Side]> = {
  northwest: ['start', 'start'],
  north: ['start', 'centre'],
  northeast: ['start', 'end'],
  west: ['centre', 'start'],
  center: ['centre', 'centre'],
  east: ['centre', 'end'],
  southwest: ['end', 'start'],
  south: ['end', 'centre'],
  southeast: ['end', 'end'],
};

/** One axis: from the start or the end edge `margin` away, or centred (the margin does not apply); always inside. */
function along(side: Side, extent: number, length: number, margin: number): number {
  const position = side === 'start' ? margin : side === 'end' ? extent - length - margin : Math.floor((extent - length) / 2);
  return Math.max(0, Math.min(extent - length, Math.round(position)));
}

/** The image's margins in pixels: a px length as given, shrunk to `maxPx` on small images; a % of the axis. */
export function marginPx(length: string, axisExtent: number, maxPx: number): number {
  const { value, unit } = parseLength(length);
  return unit === '%' ? Math.round((value / 100) * axisExtent) : Math.min(value, maxPx);
}

/** The bounding box of a `width` × `height` box turned by `degrees`. */
export function rotatedBox(width: number, height: number, degrees: number): Size {
  const radians = (degrees * Math.PI) / 180;
  const cos = Math.abs(Math.cos(radians));
  const sin = Math.abs(Math.sin(radians));
  return { width: width * cos + height * sin, height: width * sin + height * cos };
}
