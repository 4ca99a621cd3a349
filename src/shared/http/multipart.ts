/**
 * The one reader of a `multipart/form-data` upload, used by every service that takes an image: it
 * receives the one file of a field while the body streams in, enforcing the size limit as bytes
 * arrive (413 without reading the rest), hashing on the way when asked, and cutting off a sender
 * that stalls. Every fault is a problem of the catalogue; what becomes of the body left unread
 * after an early fault is the caller's choice (`unreadBody`).
 */
import busboy from 'busboy';
import { createHash, type Hash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { PROBLEMS } from '../contracts/problems.js';
import { HttpProblem } from './problem.js';
import type { UploadMemoryBudget } from './upload-budget.js';
import { errorMessage } from '../errors.js';

/** What the reader needs of a request: an IncomingMessage is one, and so is a test's stream. */
export interface MultipartRequest extends Readable {
  readonly headers: IncomingHttpHeaders;
  /** True once the whole body has arrived. */
  readonly complete: boolean;
}

/**
 * What becomes of the body left unread when the reader gives up early (413, wrong field, …):
 * - `'linger'`: stop reading until the problem is answered, then discard the rest within bounds
 *   and cut the connection past them (lingering-close.ts): every client reads the answer, and a
 *   hostile sender gets a bounded share of our time. The api's choice, at the public edge.
 * - `'drain'`: read the rest and discard it, so the answer reaches a client that sends its whole
 *   body before it reads, on a connection it keeps (a close mid-upload is reported as a network
 *   error instead). The optimizer's choice, behind the api's keep-alive client.
 */
export type UnreadBody = 'linger' | 'drain';

export interface ReadFileOptions {
  /** The multipart field that must carry the file. */
  fieldName: string;
  maxBytes: number;
  unreadBody: UnreadBody;
  /** A sender that sends nothing for this long is cut off with a 408 (slow-loris); no limit if unset. */
  idleTimeoutMs?: number;
  /**
   * Bounds the bytes of all uploads held in memory at once: the body is read only once its share is
   * granted. The caller gives the share back with `ReceivedFile.release` once it has answered.
   */
  budget?: UploadMemoryBudget;
  /** Asked when the file part begins: a problem returned refuses the upload before its bytes are read. */
  refuseFile?: () => HttpProblem | undefined;
  /** Compute the SHA-256 of the file while it streams in. */
  sha256?: boolean;
}

export interface ReceivedFile {
  /**
   * The file's bytes, joined from the chunks they arrived in when first read: a caller that answers
   * from the hash alone (a cache hit) never pays for the copy. Read `head` to sniff the type.
   */
  readonly data: Buffer;
  /** The first bytes of the file (up to HEAD_BYTES), without joining the rest. */
  readonly head: Buffer;
  filename: string | undefined;
  /** The text fields beside the file, in order, as sent (a name may come twice): the caller judges them. */
  fields: [name: string, value: string][];
  /** Gives the upload's share of the memory budget back (a no-op without a budget); idempotent. */
  release: () => void;
}

export interface HashedFile extends ReceivedFile {
  /** Lowercase hex. */
  sha256: string;
}

/** Enough of the file's start for any magic-number sniff (image-type.ts reads 64). */
const HEAD_BYTES = 4096;

/** Room for multipart boundaries and headers around the file itself. */
const ENVELOPE_BYTES = 64 * 1024;

/** Fields, parts and header pairs bounded: a body of a thousand tiny parts is refused, not parsed. */
const LIMITS = { files: 1, fields: 20, fieldSize: 4096, parts: 30, headerPairs: 50 };

const MULTIPART_TYPE = /^multipart\/form-data\s*;/i;

export function readMultipartFile(req: MultipartRequest, options: ReadFileOptions & { sha256: true }): Promise<HashedFile>;
export function readMultipartFile(req: MultipartRequest, options: ReadFileOptions): Promise<ReceivedFile>;
export async function readMultipartFile(req: MultipartRequest, options: ReadFileOptions): Promise<ReceivedFile> {
  try {
    return await read(req, options);
  } catch (err) {
    if (options.unreadBody === 'drain') {
      req.resume();
      throw err;
    }
    req.pause();
    throw err instanceof HttpProblem ? err.leavingBodyUnread() : err;
  }
}

async function read(req: MultipartRequest, options: ReadFileOptions): Promise<ReceivedFile> {
  const { fieldName, maxBytes, budget } = options;
  if (!MULTIPART_TYPE.test(req.headers['content-type'] ?? '')) {
    throw new HttpProblem(PROBLEMS.notMultipart, `Expected a multipart/form-data body with a file field "${fieldName}"`);
  }
  const declared = Number(req.headers['content-length']);
  const declaredLength = Number.isFinite(declared) && declared >= 0 ? declared : undefined;
  if (declaredLength !== undefined && declaredLength > maxBytes + ENVELOPE_BYTES) throw tooLarge(maxBytes);

  // Without a Content-Length (chunked) the body may be as large as the limit: reserve that much.
  const release = budget ? await budget.acquire(Math.min(declaredLength ?? maxBytes, maxBytes + ENVELOPE_BYTES)) : () => undefined;
  try {
    if (req.destroyed) throw aborted();
    const arrived = await receive(req, options);
    arrived.release = release;
    return arrived;
  } catch (err) {
    release();
    throw err;
  }
}

function receive(req: MultipartRequest, options: ReadFileOptions): Promise<ArrivedFile> {
  const { fieldName, maxBytes, idleTimeoutMs, refuseFile } = options;
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { ...LIMITS, fileSize: maxBytes }, defParamCharset: 'utf8' });
    } catch (err) {
      reject(malformed(err));
      return;
    }

    // The chunks are kept as they arrived (views of the socket's reads, or busboy's copies of what
    // it had to buffer) and joined only when the bytes are read (ArrivedFile).
    let chunks: Buffer[] = [];
    const hasher: Hash | undefined = options.sha256 ? createHash('sha256') : undefined;
    let received = 0;
    let file: { filename: string | undefined } | undefined;
    let fileDone = false;
    let textInField = false;
    const fields: [string, string][] = [];
    let failed = false;

    const idle =
      idleTimeoutMs === undefined
        ? undefined
        : setTimeout(() => fail(new HttpProblem(PROBLEMS.uploadTimeout, `No data received for ${idleTimeoutMs} ms`)), idleTimeoutMs);
    const touch = () => idle?.refresh();
    const onClose = () => {
      if (!req.complete) fail(aborted());
    };
    const onError = () => fail(aborted());

    function cleanup(): void {
      clearTimeout(idle);
      req.off('data', touch);
      req.off('close', onClose);
      req.off('error', onError);
      req.unpipe(parser);
    }

    function fail(problem: HttpProblem): void {
      if (failed) return;
      failed = true;
      cleanup();
      // The bytes are no longer wanted: let them go with the budget share the caller gives back.
      chunks = [];
      reject(problem);
    }

    if (idle) req.on('data', touch);
    // A client that goes away mid-upload never lets busboy finish: settle instead of hanging.
    req.on('close', onClose);
    req.on('error', onError);

    parser.on('file', (name, stream, info) => {
      // busboy destroys an open file stream with the parser's own error (a body that ends inside a
      // file part): without a listener that error would be uncaught and take the process down.
      stream.on('error', (err: unknown) => fail(malformed(err)));
      if (failed || file) {
        stream.resume();
        return;
      }
      // Whatever its types say, busboy gives no name for a part whose Content-Disposition has none.
      // busboy's types say string, but a part without a name parameter arrives as undefined.
      const partName = name as string | undefined;
      if (partName !== fieldName) {
        stream.resume();
        const got = partName === undefined ? 'a file part without a name' : `"${partName.slice(0, 100)}"`;
        fail(new HttpProblem(PROBLEMS.wrongField, `Expected the image in the multipart field "${fieldName}", got ${got}`));
        return;
      }
      const refusal = refuseFile?.();
      if (refusal) {
        stream.resume();
        fail(refusal);
        return;
      }
      file = { filename: info.filename };
      stream.on('data', (chunk: Buffer) => {
        if (failed) return;
        chunks.push(chunk);
        received += chunk.length;
        hasher?.update(chunk);
      });
      stream.once('limit', () => fail(tooLarge(maxBytes)));
      stream.once('end', () => {
        fileDone = true;
      });
    });
    parser.on('field', (name, value, info) => {
      if (failed) return;
      if (name === fieldName) textInField = true;
      else if (info.valueTruncated) fail(new HttpProblem(PROBLEMS.badMultipart, `The field "${name.slice(0, 100)}" is longer than ${LIMITS.fieldSize} bytes`));
      else fields.push([name, value]);
    });
    parser.on('filesLimit', () => fail(new HttpProblem(PROBLEMS.severalFiles, `Send exactly one file in the field "${fieldName}"`)));
    parser.on('partsLimit', () => fail(new HttpProblem(PROBLEMS.tooManyParts, 'Too many multipart parts')));
    parser.on('fieldsLimit', () => fail(new HttpProblem(PROBLEMS.tooManyFields, 'Too many multipart fields')));
    parser.on('error', (err: unknown) => fail(malformed(err)));
    parser.once('close', () => {
      if (failed) return;
      cleanup();
      if (!file) {
        const why = textInField ? `: "${fieldName}" is a text value, it must be a file` : '';
        reject(new HttpProblem(PROBLEMS.missingFile, `No file in the multipart field "${fieldName}"${why}`));
      } else if (!fileDone) {
        reject(new HttpProblem(PROBLEMS.badMultipart, 'The multipart body ended before the file did'));
      } else if (received === 0) {
        reject(new HttpProblem(PROBLEMS.emptyFile, 'The uploaded file is empty'));
      } else {
        resolve(new ArrivedFile(chunks, received, file.filename, fields, hasher?.digest('hex')));
      }
    });
    req.pipe(parser);
  });
}

/** A file as it arrived: its chunks (views of the socket's reads, not copies) joined once, on first read of `data`. */
class ArrivedFile implements ReceivedFile {
  release: () => void = () => undefined;
  private whole: Buffer | undefined;

  constructor(
    private chunks: Buffer[],
    private readonly length: number,
    readonly filename: string | undefined,
    readonly fields: [name: string, value: string][],
    readonly sha256: string | undefined,
  ) {}

  get data(): Buffer {
    if (!this.whole) {
      const only = this.chunks.length === 1 ? this.chunks[0] : undefined;
      this.whole = only ?? Buffer.concat(this.chunks, this.length);
      this.chunks = [];
    }
    return this.whole;
  }

  get head(): Buffer {
    if (this.whole) return this.whole.subarray(0, HEAD_BYTES);
    // A received file has at least one byte (an empty one is refused), so at least one chunk.
    const first = this.chunks[0];
    if (first && (first.length >= HEAD_BYTES || this.chunks.length === 1)) return first.subarray(0, HEAD_BYTES);
    const parts: Buffer[] = [];
    let taken = 0;
    for (const chunk of this.chunks) {
      if (taken >= HEAD_BYTES) break;
      const part = chunk.subarray(0, HEAD_BYTES - taken);
      parts.push(part);
      taken += part.length;
    }
    return Buffer.concat(parts, taken);
  }
}

function tooLarge(maxBytes: number): HttpProblem {
  return new HttpProblem(PROBLEMS.tooLarge, `The upload exceeds the limit of ${maxBytes} bytes`, { extensions: { maxBytes } });
}

function aborted(): HttpProblem {
  return new HttpProblem(PROBLEMS.uploadAborted, 'The client closed the connection before the upload finished');
}

function malformed(err: unknown): HttpProblem {
  return new HttpProblem(PROBLEMS.badMultipart, `Malformed multipart request: ${errorMessage(err)}`);
}
