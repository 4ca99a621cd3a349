/**
 * Reads the one file of a multipart/form-data request into memory, streaming and bounded: past
 * `maxBytes` the upload is refused (413) without buffering the rest. Whatever the outcome, the rest
 * of the request body is drained so the response reaches the client and the connection stays usable.
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { PROBLEMS } from '../shared/contracts/problems.js';
import { HttpProblem } from '../shared/http/problem.js';

export interface ReadFileOptions {
  /** The multipart field that must carry the file. */
  fieldName: string;
  maxBytes: number;
  /** Called when the file part begins; throwing refuses the request with that error (e.g. saturation). */
  onFileStart?: () => void;
}

const LIMITS = { files: 1, fields: 16, fieldSize: 64 * 1024, parts: 32, headerPairs: 64 };

export function readSingleFile(req: IncomingMessage, { fieldName, maxBytes, onFileStart }: ReadFileOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { ...LIMITS, fileSize: maxBytes } });
    } catch {
      req.resume();
      reject(badRequest(`Expected a multipart/form-data body with the image in field "${fieldName}"`));
      return;
    }
    let settled = false;
    let fileSeen = false;
    const chunks: Buffer[] = [];

    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      // Discard the rest of the body rather than closing mid-upload, which clients report as a
      // network error instead of reading our answer.
      req.resume();
      reject(err);
    };

    parser.on('file', (name, stream) => {
      if (settled) {
        stream.resume();
        return;
      }
      if (name !== fieldName) {
        stream.resume();
        fail(badRequest(`Unexpected file field "${name.slice(0, 100)}": send the image in field "${fieldName}"`));
        return;
      }
      try {
        onFileStart?.();
      } catch (err) {
        stream.resume();
        fail(err);
        return;
      }
      fileSeen = true;
      stream.on('data', (chunk: Buffer) => {
        if (!settled) chunks.push(chunk);
      });
      stream.on('limit', () => {
        chunks.length = 0;
        fail(new HttpProblem(PROBLEMS.tooLarge, `The image exceeds the upload limit of ${maxBytes} bytes`, { extensions: { maxBytes } }));
      });
    });
    parser.on('field', (name) => {
      if (name === fieldName) fail(badRequest(`Field "${fieldName}" must be a file, not a text value`));
    });
    parser.on('filesLimit', () => fail(badRequest('Send exactly one file per request')));
    parser.on('fieldsLimit', () => fail(badRequest('Too many form fields')));
    parser.on('partsLimit', () => fail(badRequest('Too many multipart parts')));
    parser.on('error', (err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      fail(badRequest(`Malformed multipart body: ${reason}`));
    });
    parser.on('close', () => {
      if (settled) return;
      if (!fileSeen) {
        fail(badRequest(`No file in field "${fieldName}"`));
        return;
      }
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    // A client that goes away mid-upload never lets busboy finish; settle instead of hanging.
    req.once('close', () => {
      if (!req.complete) fail(badRequest('The client closed the connection before the upload completed'));
    });
    req.pipe(parser);
  });
}

function badRequest(detail: string): HttpProblem {
  return new HttpProblem(PROBLEMS.badRequest, detail);
}
