/**
 * Admission of an uploaded file as an image, before anything is stored: the type comes from the
 * bytes (never the filename or the declared type), and the header must decode within the pixel
 * limit, so a pixel bomb is refused even when it would only have been queued.
 */
import sharp from 'sharp';
import { PROBLEMS } from '../shared/contracts/problems.js';
import { HttpProblem } from '../shared/http/problem.js';
import { SUPPORTED_FORMATS_WORDING, supportedImageType, type ImageType } from '../shared/image-type.js';
import { errorMessage } from '../shared/errors.js';

/** The type, sniffed from the first bytes: 415 unless it is an image we can decode. Synchronous and cheap. */
export function admitType(data: Buffer): ImageType {
  const type = supportedImageType(data);
  if (!type) throw new HttpProblem(PROBLEMS.unsupportedType, `The file is not a supported image (${SUPPORTED_FORMATS_WORDING})`);
  return type;
}

/** The header must decode and declare at most `maxInputPixels`: 422 otherwise. */
export async function admitPixels(data: Buffer, type: ImageType, maxInputPixels: number): Promise<void> {
  let width: number | undefined;
  let height: number | undefined;
  try {
    // Reads the header only; the decode itself happens in the optimizer.
    ({ width, height } = await sharp(data, { limitInputPixels: false }).metadata());
  } catch (err) {
    throw new HttpProblem(PROBLEMS.undecodable, `The ${type.format} image cannot be decoded: ${errorMessage(err)}`);
  }
  if (!width || !height) throw new HttpProblem(PROBLEMS.undecodable, 'The image declares no dimensions');
  if (width * height > maxInputPixels) {
    throw new HttpProblem(PROBLEMS.tooManyPixels, `The image has ${width}x${height} pixels, more than the limit of ${maxInputPixels}`, {
      extensions: { width, height, maxInputPixels },
    });
  }
}
