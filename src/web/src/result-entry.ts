/** A finished result as the page keeps it: the upload's outcome plus its object URL. */
import type { UploadResult } from './run-upload.js';

export interface ResultEntry extends UploadResult {
  id: number;
  /** `blob:` URL of the watermarked bytes, revoked when the entry leaves the history. */
  url: string;
  /** Wall-clock time it finished, for the history list. */
  finishedAt: number;
}
