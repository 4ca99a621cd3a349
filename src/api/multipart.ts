/**
 * Reads the one image of a `multipart/form-data` upload while it streams in: the size limit is
 * enforced as bytes arrive (413 without reading the rest), the SHA-256 is computed on the way, and
 * a sender that stalls is cut off. Everything malformed becomes a 400 problem naming what is wrong.
 */
import busboy from 'busboy';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { PROBLEMS } from '../shared/contracts/problems.js';
import { HttpProblem } from '../shared/http/problem.js';

export interface ReceivedUpload {
  data: Buffer;
  hash: string;
  filename: string | undefined;
  /** Gives the upload's share of the memory budget back; call it once the request is answered. */
  release: () => void;
}

export interface ReadUploadOptions {
  fieldName: string;
  maxBytes: number;
  /** A sender that sends nothing for this long is cut off (slow-loris). */
  idleTimeoutMs: number;
  /**
   * Bounds the bytes of all uploads held in memory at once: a body is read only once its share is
   * granted; until then the request stays unread and TCP back-pressure holds the sender. The caller
   * releases the share (`ReceivedUpload.release`) when it has answered.
   */
  budget?: UploadMemoryBudget;
}

/** Room for multipart boundaries and headers around the file itself. */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * A byte semaphore over the uploads held in memory. Waiters are served in arrival order; one upload
 * always fits even if it alone exceeds the budget, so nothing waits forever.
 */
export class UploadMemoryBudget {
  #used = 0;
  readonly #waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(readonly limitBytes: number) {}

  /** Resolves once `bytes` are granted; the returned function gives them back (idempotent). */
  async acquire(bytes: number): Promise<() => void> {
    if (this.#waiting.length > 0 || !this.#fits(bytes)) {
      await new Promise<void>((grant) => this.#waiting.push({ bytes, grant }));
    } else {
      this.#used += bytes;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used -= bytes;
      this.#grantWaiting();
    };
  }

  #fits(bytes: number): boolean {
    return this.#used === 0 || this.#used + bytes <= this.limitBytes;
  }

  #grantWaiting(): void {
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.bytes)) {
      const next = this.#waiting.shift()!;
      this.#used += next.bytes;
      next.grant();
    }
  }
}

export async function readUpload(req: IncomingMessage, options: ReadUploadOptions): Promise<ReceivedUpload> {
  const { fieldName, maxBytes } = options;
  const contentType = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    throw new HttpProblem(PROBLEMS.notMultipart, `Expected a multipart/form-data body with a file field "${fieldName}"`);
  }
  const declared = Number(req.headers['content-length']);
  const declaredLength = Number.isFinite(declared) && declared >= 0 ? declared : undefined;
  if (declaredLength !== undefined && declaredLength > maxBytes + ENVELOPE_BYTES) throw tooLarge(maxBytes);

  // Without a Content-Length (chunked) the body may be as large as the limit: reserve that much.
  const release = options.budget ? await options.budget.acquire(Math.min(declaredLength ?? maxBytes, maxBytes + ENVELOPE_BYTES)) : () => undefined;
  if (req.destroyed) {
    release();
    throw new HttpProblem(PROBLEMS.uploadAborted, 'The client closed the connection before the upload finished');
  }
  try {
    return { ...(await receive(req, options, declaredLength)), release };
  } catch (err) {
    release();
    throw err;
  }
}

function receive(req: IncomingMessage, options: ReadUploadOptions, declaredLength: number | undefined): Promise<Omit<ReceivedUpload, 'release'>> {
  const { fieldName, maxBytes, idleTimeoutMs } = options;
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fileSize: maxBytes, fields: 20, fieldSize: 1024, parts: 30, headerPairs: 50 },
        defParamCharset: 'utf8',
      });
    } catch (err) {
      reject(new HttpProblem(PROBLEMS.badMultipart, `Malformed multipart request: ${(err as Error).message}`));
      return;
    }

    // One buffer sized from Content-Length (the body bounds the file) instead of chunks joined at
    // the end: an upload costs its size once in memory, not twice. Chunked bodies keep the chunks.
    const whole = declaredLength !== undefined ? Buffer.allocUnsafe(Math.min(declaredLength, maxBytes)) : undefined;
    const chunks: Buffer[] = [];
    const hasher = createHash('sha256');
    let received = 0;
    let file: { filename: string | undefined } | undefined;
    let fileDone = false;
    let failed = false;
    let extraFiles = 0;

    const idle = setTimeout(() => fail(new HttpProblem(PROBLEMS.uploadTimeout, `No data received for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    const touch = () => idle.refresh();

    function cleanup(): void {
      clearTimeout(idle);
      req.off('data', touch);
      req.unpipe(parser);
    }

    function fail(problem: HttpProblem): void {
      if (failed) return;
      failed = true;
      cleanup();
      // Stop reading: the rest of the body is discarded by closing the connection after the reply.
      req.pause();
      reject(problem);
    }

    req.on('data', touch);
    req.once('aborted', () => fail(new HttpProblem(PROBLEMS.uploadAborted, 'The client closed the connection before the upload finished')));

    parser.on('file', (name, stream, info) => {
      if (name !== fieldName) {
        stream.resume();
        fail(new HttpProblem(PROBLEMS.wrongField, `Expected the image in the multipart field "${fieldName}", got "${name.slice(0, 100)}"`));
        return;
      }
      if (file) {
        stream.resume();
        return;
      }
      file = { filename: info.filename };
      stream.on('data', (chunk: Buffer) => {
        if (whole && received + chunk.length <= whole.length) chunk.copy(whole, received);
        else chunks.push(chunk);
        received += chunk.length;
        hasher.update(chunk);
      });
      stream.once('limit', () => fail(tooLarge(maxBytes)));
      stream.once('end', () => {
        fileDone = true;
      });
    });
    parser.on('filesLimit', () => {
      extraFiles += 1;
      fail(new HttpProblem(PROBLEMS.severalFiles, `Send exactly one file in the field "${fieldName}"`));
    });
    parser.on('partsLimit', () => fail(new HttpProblem(PROBLEMS.tooManyParts, 'Too many multipart parts')));
    parser.on('fieldsLimit', () => fail(new HttpProblem(PROBLEMS.tooManyFields, 'Too many multipart fields')));
    parser.once('error', (err: Error) => fail(new HttpProblem(PROBLEMS.badMultipart, `Malformed multipart request: ${err.message}`)));
    parser.once('close', () => {
      if (failed) return;
      cleanup();
      if (!file) {
        reject(new HttpProblem(PROBLEMS.missingFile, `No file in the multipart field "${fieldName}"`));
      } else if (!fileDone || extraFiles > 0) {
        reject(new HttpProblem(PROBLEMS.badMultipart, 'The multipart body ended before the file did'));
      } else if (received === 0) {
        reject(new HttpProblem(PROBLEMS.emptyFile, 'The uploaded file is empty'));
      } else {
        const data = !whole ? Buffer.concat(chunks, received) : chunks.length === 0 ? whole.subarray(0, received) : Buffer.concat([whole, ...chunks], received);
        resolve({ data, hash: hasher.digest('hex'), ...file });
      }
    });
    req.pipe(parser);
  });
}

function tooLarge(maxBytes: number): HttpProblem {
  return new HttpProblem(PROBLEMS.tooLarge, `The upload exceeds the limit of ${maxBytes} bytes`, { extensions: { maxBytes } });
}
