/** A finished result as the page keeps it: the upload's outcome plus its object URL. */
import type { UploadResult } from './run-upload.js';

export interface ResultEntry extends UploadResult {
  id: number;
  /** `blob:` URL of the watermarked bytes, revoked when the entry leaves the history. */
  url: string;
  /** Wall-clock time it finished, for the history list. */
  finishedAt: number;
}

/**
 * Two entries show one result: the same result id (the same image with the same settings, e.g.
 * after switching an option back). The newer replaces the older in the history.
 */
export function sameResult(a: ResultEntry, b: ResultEntry): boolean {
  return a.id === b.id || (a.resultId !== null && a.resultId === b.resultId);
}
