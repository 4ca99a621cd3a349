/**
 * Reads the one image of a `multipart/form-data` upload while it streams in: the size limit is
 * enforced as bytes arrive (413 without reading the rest), the SHA-256 is computed on the way, and
 * a sender that stalls is cut off. Everything malformed becomes a 400 problem naming what is wrong.
 */
import busboy from 'busboy';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpProblem } from '../shared/http/problem.js';

export interface ReceivedUpload {
  data: Buffer;
  hash: string;
  filename: string | undefined;
  declaredType: string;
}

export interface ReadUploadOptions {
  fieldName: string;
  maxBytes: number;
  /** A sender that sends nothing for this long is cut off (slow-loris). */
  idleTimeoutMs: number;
}

/** Room for multipart boundaries and headers around the file itself. */
const ENVELOPE_BYTES = 64 * 1024;

export function readUpload(req: IncomingMessage, options: ReadUploadOptions): Promise<ReceivedUpload> {
  const { fieldName, maxBytes, idleTimeoutMs } = options;
  const contentType = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    return Promise.reject(new HttpProblem(400, 'not-multipart', `Expected a multipart/form-data body with a file field "${fieldName}"`));
  }
  const declaredLength = Number(req.headers['content-length']);
  if (Number.isFinite(declaredLength) && declaredLength > maxBytes + ENVELOPE_BYTES) {
    return Promise.reject(tooLarge(maxBytes));
  }

  return new Promise<ReceivedUpload>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { files: 1, fileSize: maxBytes, fields: 20, fieldSize: 1024, parts: 30, headerPairs: 50 },
        defParamCharset: 'utf8',
      });
    } catch (err) {
      reject(new HttpProblem(400, 'bad-multipart', `Malformed multipart request: ${(err as Error).message}`));
      return;
    }

    const chunks: Buffer[] = [];
    const hasher = createHash('sha256');
    let received = 0;
    let file: { filename: string | undefined; declaredType: string } | undefined;
    let fileDone = false;
    let failed = false;
    let extraFiles = 0;

    const idle = setTimeout(() => fail(new HttpProblem(408, 'upload-timeout', `No data received for ${idleTimeoutMs} ms`)), idleTimeoutMs);
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
    req.once('aborted', () => fail(new HttpProblem(400, 'upload-aborted', 'The client closed the connection before the upload finished')));

    parser.on('file', (name, stream, info) => {
      if (name !== fieldName) {
        stream.resume();
        fail(new HttpProblem(400, 'wrong-field', `Expected the image in the multipart field "${fieldName}", got "${name.slice(0, 100)}"`));
        return;
      }
      if (file) {
        stream.resume();
        return;
      }
      file = { filename: info.filename, declaredType: info.mimeType };
      stream.on('data', (chunk: Buffer) => {
        received += chunk.length;
        chunks.push(chunk);
        hasher.update(chunk);
      });
      stream.once('limit', () => fail(tooLarge(maxBytes)));
      stream.once('end', () => {
        fileDone = true;
      });
    });
    parser.on('filesLimit', () => {
      extraFiles += 1;
      fail(new HttpProblem(400, 'several-files', `Send exactly one file in the field "${fieldName}"`));
    });
    parser.on('partsLimit', () => fail(new HttpProblem(400, 'too-many-parts', 'Too many multipart parts')));
    parser.on('fieldsLimit', () => fail(new HttpProblem(400, 'too-many-fields', 'Too many multipart fields')));
    parser.once('error', (err: Error) => fail(new HttpProblem(400, 'bad-multipart', `Malformed multipart request: ${err.message}`)));
    parser.once('close', () => {
      if (failed) return;
      cleanup();
      if (!file) {
        reject(new HttpProblem(400, 'missing-file', `No file in the multipart field "${fieldName}"`));
      } else if (!fileDone || extraFiles > 0) {
        reject(new HttpProblem(400, 'bad-multipart', 'The multipart body ended before the file did'));
      } else if (received === 0) {
        reject(new HttpProblem(400, 'empty-file', 'The uploaded file is empty'));
      } else {
        resolve({ data: Buffer.concat(chunks, received), hash: hasher.digest('hex'), ...file });
      }
    });
    req.pipe(parser);
  });
}

function tooLarge(maxBytes: number): HttpProblem {
  return new HttpProblem(413, 'too-large', `The upload exceeds the limit of ${maxBytes} bytes`, { maxBytes });
}
