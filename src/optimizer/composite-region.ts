/**
 * A mark that costs its area: composite a rendered mark onto the pixels under it only, not onto the
 * whole frame. libvips' composite blends every pixel of the frame (alpha added, premultiplied, in
 * float) to place a mark that covers about 1 % of them. Here the resized frame is taken out as raw
 * pixels, the region under the mark is blended by the same libvips composite, written back into the
 * frame, and the frame goes on to the encoder. "Over" blends pixel by pixel, so the result is the
 * whole-frame composite exactly (tests/unit/optimizer/composite-region.test.ts compares them).
 * Not for tiled marks, which cover the frame anyway.
 *
 * Opaque frames only (JPEG output, the common case): on a frame with alpha, libvips' composite also
 * changes pixels outside the mark (premultiplied and back in float, then truncated: a colour 109
 * under alpha 7 comes back 108), so the region alone cannot give its pixels; such a frame gets the
 * whole-frame composite, as before.
 */
import sharp from 'sharp';

/** The mark as placed in the output: raw RGBA pixels (`raw` given) or an encoded image such as PNG. */
export interface PlacedMark {
  data: Buffer;
  raw?: { width: number; height: number; channels: 4 };
  left: number;
  top: number;
}

/** Raw 8-bit pixels and their shape, as sharp's `raw().toBuffer({ resolveWithObject: true })` gives them. */
export interface RawFrame {
  data: Buffer;
  info: { width: number; height: number; channels: 3 };
}

/**
 * `resized`: the pipeline up to its last geometric step (rotate, resize), no encoder yet. Returns a
 * pipeline over the marked raw pixels, with the frame's channels (no alpha added to an opaque
 * frame, as the whole-frame path removes it), ready for the encoder.
 */
export async function compositeOnRegion(resized: sharp.Sharp, mark: PlacedMark): Promise<sharp.Sharp> {
  const { data, info } = await resized.raw().toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height, channels: info.channels };
  if (raw.channels !== 3) {
    // Alpha (see above), or grey, which the composite turns into sRGB: the whole frame, as before.
    const whole = sharp(data, { raw }).composite([{ input: mark.data, ...(mark.raw ? { raw: mark.raw } : {}), left: mark.left, top: mark.top }]);
    return raw.channels === 1 ? whole.removeAlpha() : whole;
  }
  const frame: RawFrame = { data, info: { ...raw, channels: 3 } };
  await compositeRawRegion(frame, mark);
  return sharp(frame.data, { raw: frame.info });
}

/** Blends the mark into an opaque `frame.data` in place, over the region under it only (4 channels: see above). */
export async function compositeRawRegion(frame: RawFrame, mark: PlacedMark): Promise<void> {
  const { width, height } = mark.raw ?? (await markSize(mark.data));
  const { info } = frame;
  if (mark.left < 0 || mark.top < 0 || mark.left + width > info.width || mark.top + height > info.height) {
    throw new RangeError(`compositeRawRegion: a ${width}x${height} mark at ${mark.left},${mark.top} does not fit in a ${info.width}x${info.height} frame`);
  }
  const stride = info.width * info.channels;
  const rowBytes = width * info.channels;
  const region = Buffer.allocUnsafe(rowBytes * height);
  for (let y = 0; y < height; y += 1) {
    const start = (mark.top + y) * stride + mark.left * info.channels;
    frame.data.copy(region, y * rowBytes, start, start + rowBytes);
  }
  // Compositing adds an alpha channel; the opaque frame keeps its 3.
  const blended = await sharp(region, { raw: { width, height, channels: info.channels } })
    .composite([{ input: mark.data, ...(mark.raw ? { raw: mark.raw } : {}), left: 0, top: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  for (let y = 0; y < height; y += 1) blended.copy(frame.data, (mark.top + y) * stride + mark.left * info.channels, y * rowBytes, (y + 1) * rowBytes);
}

/** A mark's SVG rendered once to raw RGBA, as sharp renders an SVG composite input (72 dpi). */
export async function renderMark(svg: string): Promise<Pick<PlacedMark, 'data' | 'raw'>> {
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, raw: { width: info.width, height: info.height, channels: 4 } };
}

async function markSize(data: Buffer): Promise<{ width: number; height: number }> {
  const { width, height } = await sharp(data).metadata();
  return { width, height };
}
