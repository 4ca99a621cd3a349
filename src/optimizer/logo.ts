/**
 * The configured logo, decoded once and kept as a small PNG data URI that the watermark SVG embeds.
 * Decoding at start (settingsFromConfig validates through here) turns a broken logo file into a
 * configuration error instead of a 500 on every request.
 */
import sharp from 'sharp';

export interface PreparedLogo {
  /** `data:image/png;base64,…`, ready for an SVG `<image href>`. */
  dataUri: string;
  width: number;
  height: number;
}

/** Larger than any mark we draw (a fraction of RESIZE_MAX_EDGE), small enough to embed per image. */
const LOGO_MAX_EDGE = 512;
const LOGO_MAX_PIXELS = 50_000_000;

const prepared = new WeakMap<Buffer, Promise<PreparedLogo>>();

export function prepareLogo(bytes: Buffer): Promise<PreparedLogo> {
  let logo = prepared.get(bytes);
  if (!logo) {
    logo = decodeLogo(bytes);
    prepared.set(bytes, logo);
    // Every caller still gets the rejection; this only forgets it, so the next call decodes again.
    logo.catch(() => prepared.delete(bytes));
  }
  return logo;
}

async function decodeLogo(bytes: Buffer): Promise<PreparedLogo> {
  const { data, info } = await sharp(bytes, { failOn: 'error', animated: false, limitInputPixels: LOGO_MAX_PIXELS })
    .rotate()
    .resize(LOGO_MAX_EDGE, LOGO_MAX_EDGE, { fit: 'inside', withoutEnlargement: true })
    .ensureAlpha()
    .png()
    .toBuffer({ resolveWithObject: true });
  return { dataUri: `data:image/png;base64,${data.toString('base64')}`, width: info.width, height: info.height };
}
