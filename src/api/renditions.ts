/**
 * Renditions: `GET /image/{id}?w=640` (and `h`, `format`) serves a smaller copy of a finished
 * result, for `srcset`. It is always made from the watermarked result, so no size ever comes
 * without the mark; sizes are on the operator's list (RENDITION_SIZES) and never larger than the
 * result. The request is parsed here (pure); making one is a sharp resize in this process, bounded
 * by those sizes, and kept in Redis and the store like a result.
 */
import sharp from 'sharp';
import { PROBLEMS } from '../shared/contracts/problems.js';
import { HttpProblem } from '../shared/http/problem.js';
import { extensionForFormat, mimeForFormat } from '../shared/image-type.js';
import { negotiateFormat } from '../shared/watermark/negotiate.js';

export type RenditionFormat = 'jpeg' | 'png' | 'webp' | 'avif';

export interface RenditionSpec {
  /** 0: not bounded on that axis. */
  width: number;
  height: number;
  /** undefined: the result's own format. */
  format: RenditionFormat | undefined;
  /** The format came from `Accept` (`format=auto`): the answer says `Vary: Accept`. */
  negotiated: boolean;
}

const RENDITION_PARAMS = ['w', 'h', 'format'];
/** Parameters of a signed URL, checked by access/require-key.ts before this. */
const SIGNATURE_PARAMS = ['expires', 'sig'];
const FORMATS: readonly string[] = ['jpeg', 'png', 'webp', 'avif', 'auto'];
const RENDITION_QUALITY = 80;

/** The rendition a query asks for, or undefined for the result itself. Throws a 400 naming every bad parameter. */
export function renditionSpec(query: readonly (readonly [string, string])[], sizes: readonly number[], accept: string | undefined): RenditionSpec | undefined {
  const problems: string[] = [];
  const values = new Map<string, string>();
  for (const [name, value] of query) {
    if (SIGNATURE_PARAMS.includes(name)) continue;
    if (!RENDITION_PARAMS.includes(name)) problems.push(`${name.slice(0, 40)}: expected one of w, h, format`);
    else if (values.has(name)) problems.push(`${name}: expected one value, received it more than once`);
    else values.set(name, value);
  }
  if (values.size === 0 && problems.length === 0) return undefined;
  const size = (name: 'w' | 'h'): number => {
    const raw = values.get(name);
    if (raw === undefined) return 0;
    const value = /^\d{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!sizes.includes(value)) problems.push(`${name}: expected one of ${sizes.join(', ')}, received ${JSON.stringify(raw.slice(0, 40))}`);
    return value;
  };
  const width = size('w');
  const height = size('h');
  const rawFormat = values.get('format');
  if (rawFormat !== undefined && !FORMATS.includes(rawFormat))
    problems.push(`format: expected one of ${FORMATS.join(', ')}, received ${JSON.stringify(rawFormat.slice(0, 40))}`);
  if (problems.length > 0) throw new HttpProblem(PROBLEMS.badRendition, `Invalid rendition: ${problems.join('; ')}`, { extensions: { sizes } });
  if (rawFormat === 'auto') {
    const negotiated = negotiateFormat(accept);
    return { width, height, format: negotiated === 'auto' ? undefined : negotiated, negotiated: true };
  }
  return { width, height, format: rawFormat as RenditionFormat | undefined, negotiated: false };
}

/** The rendition's name, the same in Redis and in the store: `w640-h0-webp` (`-same` keeps the result's format). */
export function renditionName(spec: RenditionSpec): string {
  return `w${spec.width}-h${spec.height}-${spec.format ?? 'same'}`;
}

export function renditionKey(resultId: string, spec: RenditionSpec): string {
  return `renditions/${resultId}/${renditionName(spec)}`;
}

/** The rendition of `result`: fit inside the box, never enlarged, re-encoded; PNG stays lossless. */
export async function makeRendition(result: Buffer, spec: RenditionSpec): Promise<{ data: Buffer; contentType: string; ext: string }> {
  let image = sharp(result).resize(spec.width || undefined, spec.height || undefined, { fit: 'inside', withoutEnlargement: true });
  const format = spec.format ?? (await sharp(result).metadata()).format;
  switch (format) {
    case 'png':
      image = image.png({ compressionLevel: 9 });
      break;
    case 'webp':
      image = image.webp({ quality: RENDITION_QUALITY });
      break;
    case 'avif':
      image = image.avif({ quality: RENDITION_QUALITY });
      break;
    default:
      // JPEG has no alpha: transparent areas become white, as in the pipeline.
      image = image.flatten({ background: '#ffffff' }).jpeg({ quality: RENDITION_QUALITY, mozjpeg: true });
  }
  const chosen: RenditionFormat = format === 'png' || format === 'webp' || format === 'avif' ? format : 'jpeg';
  return { data: await image.toBuffer(), contentType: mimeForFormat(chosen), ext: extensionForFormat(chosen) };
}
