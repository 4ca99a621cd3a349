/** Request-like streams and multipart bodies for the multipart reader's tests: no server, no socket. */
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { MultipartRequest } from '../../../src/shared/http/multipart.js';

export const BOUNDARY = 'xYzBoundary';

export interface Part {
  /** Left out of the Content-Disposition when undefined, as a broken client might. */
  name: string | undefined;
  /** A file part when set, a text field otherwise. */
  filename?: string;
  data: Buffer | string;
}

export interface BodyOptions {
  /** `false` leaves out the final boundary. */
  closed?: boolean;
  boundary?: string;
  /** Raw header lines added to every part, after its Content-Disposition. */
  extraHeaders?: string[];
  /** Bytes before the first boundary, which a reader must skip. */
  preamble?: string;
}

/** A multipart/form-data body. */
export function multipartBody(parts: Part[], { closed = true, boundary = BOUNDARY, extraHeaders = [], preamble = '' }: BodyOptions = {}): Buffer {
  const extra = extraHeaders.map((line) => `${line}\r\n`).join('');
  const pieces = parts.flatMap((part) => {
    const name = part.name === undefined ? '' : `; name="${part.name}"`;
    const disposition = `form-data${name}${part.filename === undefined ? '' : `; filename="${part.filename}"`}`;
    const type = part.filename === undefined ? '' : 'Content-Type: application/octet-stream\r\n';
    return [Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}${extra}\r\n`), Buffer.from(part.data), Buffer.from('\r\n')];
  });
  const start = preamble === '' ? [] : [Buffer.from(`${preamble}\r\n`)];
  return Buffer.concat([...start, ...pieces, Buffer.from(closed ? `--${boundary}--\r\n` : '')]);
}

/**
 * How the fake sender behaves once its chunks are sent: the body completes ('end'), the sender
 * goes silent ('stall') or the connection drops ('disconnect').
 */
export type Ending = 'end' | 'stall' | 'disconnect';

/** An IncomingMessage as far as the reader can tell: headers, `complete`, and a body read on demand. */
export class FakeRequest extends Readable implements MultipartRequest {
  complete = false;
  /** Chunks handed to whoever reads; what is left was never read. */
  readonly pending: Buffer[];

  constructor(
    readonly headers: IncomingHttpHeaders,
    chunks: Buffer[],
    private readonly ending: Ending = 'end',
  ) {
    super();
    this.pending = [...chunks];
  }

  override _read(): void {
    const next = this.pending.shift();
    if (next) {
      this.push(next);
    } else if (this.ending === 'end') {
      this.complete = true;
      this.push(null);
    } else if (this.ending === 'disconnect') {
      this.destroy();
    }
  }
}

export interface RequestOptions {
  /** Send Content-Length (the default), or none, as a chunked body does. */
  declareLength?: boolean;
  contentType?: string;
  /** Split the body into chunks of this many bytes. */
  chunkBytes?: number;
  ending?: Ending;
}

export function fakeRequest(body: Buffer, { declareLength = true, contentType, chunkBytes = 16 * 1024, ending = 'end' }: RequestOptions = {}): FakeRequest {
  const headers: IncomingHttpHeaders = { 'content-type': contentType ?? `multipart/form-data; boundary=${BOUNDARY}` };
  if (declareLength) headers['content-length'] = String(body.length);
  return new FakeRequest(headers, splitEvery(body, chunkBytes), ending);
}

/** `body` cut at the given offsets (any order, duplicates and out-of-range ones ignored). */
export function splitAt(body: Buffer, offsets: number[]): Buffer[] {
  const cuts = [...new Set(offsets.filter((offset) => offset > 0 && offset < body.length))].sort((a, b) => a - b);
  return [0, ...cuts].map((start, i) => body.subarray(start, cuts[i] ?? body.length)).filter((chunk) => chunk.length > 0);
}

function splitEvery(body: Buffer, bytes: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = 0; start < body.length; start += bytes) chunks.push(body.subarray(start, start + bytes));
  return chunks;
}

/**
 * A few turns of the event loop: a fake request pushes its chunks at once, so whatever a reader
 * would do with them it has done by then. For checks that something did not happen, with no clock.
 */
export async function eventLoopTurns(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}
