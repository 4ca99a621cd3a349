import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  SUPPORTED_FORMATS_WORDING,
  extensionForFormat,
  formatFromMime,
  sniffImageType,
  supportedImageType,
  type ImageFormat,
} from '../../../src/shared/image-type.js';

/** An ISO-BMFF file start: ftyp box with a major brand and compatible brands. */
function ftyp(major: string, ...compatible: string[]): Buffer {
  const size = 16 + 4 * compatible.length;
  const box = Buffer.alloc(size);
  box.writeUInt32BE(size, 0);
  box.write('ftyp', 4, 'ascii');
  box.write(major, 8, 'ascii');
  compatible.forEach((brand, i) => box.write(brand, 16 + 4 * i, 'ascii'));
  return Buffer.concat([box, Buffer.alloc(32)]);
}

describe('sniffImageType', () => {
  const encoded = new Map<string, Buffer>();

  beforeAll(async () => {
    const tiny = () => sharp({ create: { width: 8, height: 8, channels: 3, background: '#3366cc' } });
    encoded.set('jpeg', await tiny().jpeg().toBuffer());
    encoded.set('png', await tiny().png().toBuffer());
    encoded.set('gif', await tiny().gif().toBuffer());
    encoded.set('webp', await tiny().webp().toBuffer());
    encoded.set('avif', await tiny().avif().toBuffer());
    encoded.set('tiff', await tiny().tiff().toBuffer());
  });

  it.each([
    ['jpeg', 'image/jpeg', 'jpg'],
    ['png', 'image/png', 'png'],
    ['gif', 'image/gif', 'gif'],
    ['webp', 'image/webp', 'webp'],
    ['avif', 'image/avif', 'avif'],
    ['tiff', 'image/tiff', 'tiff'],
  ])('recognises a %s encoded by sharp from its first bytes', (format, mime, ext) => {
    const bytes = encoded.get(format);
    expect(bytes).toBeDefined();
    expect(sniffImageType(bytes!.subarray(0, 64))).toEqual({ format, mime, ext });
  });

  it('recognises both TIFF byte orders and BigTIFF', () => {
    for (const head of [
      [0x49, 0x49, 0x2a, 0x00],
      [0x4d, 0x4d, 0x00, 0x2a],
      [0x49, 0x49, 0x2b, 0x00],
      [0x4d, 0x4d, 0x00, 0x2b],
    ]) {
      expect(sniffImageType(Uint8Array.from([...head, 8, 0, 0, 0]))?.format).toBe('tiff');
    }
  });

  it('recognises GIF87a as well as GIF89a', () => {
    expect(sniffImageType(Buffer.from('GIF87a\x08\x00\x08\x00', 'latin1'))?.format).toBe('gif');
  });

  it('tells AVIF from HEIC by the ftyp brands, including AVIF listed only as a compatible brand', () => {
    expect(sniffImageType(ftyp('avif', 'mif1', 'miaf'))).toEqual({ format: 'avif', mime: 'image/avif', ext: 'avif' });
    expect(sniffImageType(ftyp('avis', 'msf1'))?.format).toBe('avif');
    expect(sniffImageType(ftyp('mif1', 'avif', 'miaf'))?.format).toBe('avif');
    expect(sniffImageType(ftyp('heic', 'mif1'))).toEqual({ format: 'heic', mime: 'image/heic', ext: 'heic' });
    expect(sniffImageType(ftyp('heix'))?.format).toBe('heic');
    expect(sniffImageType(ftyp('mif1', 'heic'))?.mime).toBe('image/heic');
    expect(sniffImageType(ftyp('mif1'))).toEqual({ format: 'heic', mime: 'image/heif', ext: 'heic' });
  });

  it('refuses ISO-BMFF files that are not images (MP4, QuickTime)', () => {
    expect(sniffImageType(ftyp('isom', 'iso2', 'mp41'))).toBeUndefined();
    expect(sniffImageType(ftyp('qt  '))).toBeUndefined();
  });

  it('never reads past the given bytes when an ftyp box declares a huge size', () => {
    const head = ftyp('mif1', 'miaf').subarray(0, 20);
    head.writeUInt32BE(0xffffffff, 0);
    expect(sniffImageType(head)?.format).toBe('heic');
    expect(sniffImageType(head.subarray(0, 11))).toBeUndefined();
  });

  it.each([
    ['an empty buffer', Buffer.alloc(0)],
    ['three bytes of a PNG signature', Buffer.from([0x89, 0x50, 0x4e])],
    ['a text file named photo.jpg', Buffer.from('This is not a photo, just text saved as photo.jpg\n')],
    ['an SVG document', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')],
    ['an SVG without XML declaration', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
    ['a PDF header', Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj', 'latin1')],
    ['a RIFF file that is not WebP (WAV)', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1')],
    ['a BMP', Buffer.from('BM\x36\x00\x00\x00\x00\x00', 'latin1')],
    ['an HTML page', Buffer.from('<!doctype html><html><body>hi</body></html>')],
  ])('returns undefined for %s', (_name, bytes) => {
    expect(sniffImageType(bytes)).toBeUndefined();
  });
});

describe('extensionForFormat', () => {
  it.each([
    ['jpeg', 'jpg'],
    ['png', 'png'],
    ['gif', 'gif'],
    ['webp', 'webp'],
    ['avif', 'avif'],
    ['heic', 'heic'],
    ['tiff', 'tiff'],
  ] as [ImageFormat, string][])('maps %s to .%s', (format, ext) => {
    expect(extensionForFormat(format)).toBe(ext);
  });
});

describe('formatFromMime', () => {
  it('reads a Content-Type with parameters and in any case', () => {
    expect(formatFromMime('image/jpeg')).toBe('jpeg');
    expect(formatFromMime('Image/PNG; charset=binary')).toBe('png');
    expect(formatFromMime('image/heif')).toBe('heic');
    expect(formatFromMime('image/jpg')).toBe('jpeg');
  });

  it('returns undefined for types we do not serve', () => {
    expect(formatFromMime('image/svg+xml')).toBeUndefined();
    expect(formatFromMime('application/octet-stream')).toBeUndefined();
    expect(formatFromMime('toString')).toBeUndefined();
    expect(formatFromMime('')).toBeUndefined();
  });
});

describe('supportedImageType', () => {
  it('accepts what the service can decode and names it in one wording', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#3366cc' } })
      .png()
      .toBuffer();
    expect(supportedImageType(png)?.format).toBe('png');
    expect(SUPPORTED_FORMATS_WORDING).toBe('JPEG, PNG, WebP, AVIF, GIF or TIFF');
  });

  it('refuses HEIC, which it recognises but cannot decode, and what it does not recognise', () => {
    expect(sniffImageType(ftyp('heic'))?.format).toBe('heic');
    expect(supportedImageType(ftyp('heic'))).toBeUndefined();
    expect(supportedImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
  });
});
