/**
 * Image type detection from the first bytes of an upload (magic numbers), never from the file name
 * or the client's Content-Type. Pure: the api uses it to answer 415 before any decoder sees the bytes,
 * the optimizer to refuse anything that is not one of the raster formats we support (SVG, PDF and
 * libvips' other loaders are deliberately out).
 */

export type ImageFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'heic' | 'tiff';

export interface ImageType {
  format: ImageFormat;
  mime: string;
  /** File extension without the dot, as used in object keys (`original/<hash>.<ext>`). */
  ext: string;
}

/** How many leading bytes `sniffImageType` wants; more is fine, fewer may miss an ISO-BMFF brand. */
export const SNIFF_BYTES = 64;

const EXTENSIONS: Record<ImageFormat, string> = {
  jpeg: 'jpg',
  png: 'png',
  gif: 'gif',
  webp: 'webp',
  avif: 'avif',
  heic: 'heic',
  tiff: 'tiff',
};

const MIME_TYPES: Record<ImageFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  heic: 'image/heic',
  tiff: 'image/tiff',
};

const NAMES: Record<ImageFormat, string> = {
  jpeg: 'JPEG',
  png: 'PNG',
  gif: 'GIF',
  webp: 'WebP',
  avif: 'AVIF',
  heic: 'HEIC',
  tiff: 'TIFF',
};

/**
 * The formats this service accepts, in the order it names them. HEIC is recognised but not
 * accepted: it needs an HEVC decoder that sharp's bundled libvips does not ship, so it is refused
 * up front rather than accepted as work that can only fail.
 */
export const SUPPORTED_FORMATS: readonly ImageFormat[] = Object.freeze(['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff']);

/** "JPEG, PNG, WebP, AVIF, GIF or TIFF": the list every refusal of an unsupported file names. */
export const SUPPORTED_FORMATS_WORDING = wordList(SUPPORTED_FORMATS.map((format) => NAMES[format]));

/** Every extension an original can be stored under. */
export const ORIGINAL_EXTENSIONS: readonly string[] = Object.freeze(Object.values(EXTENSIONS));
/** Every extension the optimizer can produce, most likely first. */
export const RESULT_EXTENSIONS: readonly string[] = Object.freeze(['jpg', 'png', 'webp', 'avif']);

export function extensionForFormat(format: ImageFormat): string {
  return EXTENSIONS[format];
}

export function mimeForFormat(format: ImageFormat): string {
  return MIME_TYPES[format];
}

const FORMAT_BY_MIME: Record<string, ImageFormat> = {
  ...Object.fromEntries(Object.entries(MIME_TYPES).map(([format, mime]) => [mime, format as ImageFormat])),
  'image/heif': 'heic',
  'image/jpg': 'jpeg',
  'image/pjpeg': 'jpeg',
};

/** The format a Content-Type names (parameters and case ignored), or undefined for anything else. */
export function formatFromMime(contentType: string): ImageFormat | undefined {
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return Object.hasOwn(FORMAT_BY_MIME, mime) ? FORMAT_BY_MIME[mime] : undefined;
}

const MAX_FTYP_BYTES = 256;
const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEVC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'mif2', 'miaf']);

/** The type of an upload, a logo or an optimizer input when it is one of SUPPORTED_FORMATS, else undefined. */
export function supportedImageType(head: Uint8Array): ImageType | undefined {
  const type = sniffImageType(head.subarray(0, SNIFF_BYTES));
  return type && SUPPORTED_FORMATS.includes(type.format) ? type : undefined;
}

export function sniffImageType(head: Uint8Array): ImageType | undefined {
  const format = sniffFormat(head);
  if (format === undefined) return undefined;
  if (format === 'heif') return { format: 'heic', mime: 'image/heif', ext: EXTENSIONS.heic };
  return { format, mime: MIME_TYPES[format], ext: EXTENSIONS[format] };
}

function sniffFormat(b: Uint8Array): ImageFormat | 'heif' | undefined {
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return 'gif';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(b, [0x49, 0x49, 0x2b, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  if (ascii(b, 4, 8) === 'ftyp') return sniffFtyp(b);
  return undefined;
}

/**
 * ISO-BMFF `ftyp` box: size (4), 'ftyp', major brand (4), minor version (4), compatible brands (4 each).
 * AVIF files often carry major brand `mif1` with `avif` among the compatible ones, so all brands count,
 * and AVIF wins over HEIF because the same container can list both.
 */
function sniffFtyp(b: Uint8Array): ImageFormat | 'heif' | undefined {
  if (b.length < 12) return undefined;
  const declared = ((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0);
  // A hostile size never makes us read past what we were given, nor scan megabytes of "brands".
  const end = Math.min(declared >>> 0, b.length, MAX_FTYP_BYTES);
  const brands = [ascii(b, 8, 12)];
  for (let offset = 16; offset + 4 <= end; offset += 4) brands.push(ascii(b, offset, offset + 4));
  if (brands.some((brand) => AVIF_BRANDS.has(brand))) return 'avif';
  if (brands.some((brand) => HEVC_BRANDS.has(brand))) return 'heic';
  if (brands.some((brand) => HEIF_BRANDS.has(brand))) return 'heif';
  return undefined;
}

function startsWith(b: Uint8Array, prefix: readonly number[]): boolean {
  return b.length >= prefix.length && prefix.every((byte, i) => b[i] === byte);
}

function ascii(b: Uint8Array, start: number, end: number): string {
  if (b.length < end) return '';
  return String.fromCharCode(...b.subarray(start, end));
}

function wordList(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
