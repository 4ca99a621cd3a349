/**
 * Properties of the shared multipart reader over generated bodies: whatever arrives — well-formed,
 * truncated, corrupted, cut into any chunks, with or without a Content-Length, from a sender that
 * disconnects — the reader settles, never throws anything but a catalogue problem, and never
 * returns more than the limit; an intact body with one file gives back exactly that file.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../../src/shared/contracts/problems.js';
import { readMultipartFile, type ReadFileOptions, type UnreadBody } from '../../../src/shared/http/multipart.js';
import { HttpProblem } from '../../../src/shared/http/problem.js';
import { BOUNDARY, eventLoopTurns, FakeRequest, multipartBody, splitAt, type Ending, type Part } from './multipart-fakes.js';

const MAX_BYTES = 512;
const CATALOGUE = new Set(Object.values(PROBLEMS));

/** Errors nobody handled (a stream's 'error' without a listener): in a service, a crashed process. */
const uncaught: unknown[] = [];
const record = (err: unknown) => uncaught.push(err);
beforeAll(() => {
  process.on('uncaughtException', record);
});
afterAll(() => {
  process.off('uncaughtException', record);
});

type Outcome = { file: Buffer; error?: undefined } | { file?: undefined; error: unknown };

/**
 * What the reader gave. Fails the property if anything it set in motion throws where nobody
 * listens, even after it settled (a reader that never settles fails by the test's own timeout).
 */
async function outcome(req: FakeRequest, options: ReadFileOptions): Promise<Outcome> {
  const result = await readMultipartFile(req, options).then(
    (file): Outcome => ({ file: file.data }),
    (error: unknown): Outcome => ({ error }),
  );
  // Let what is still buffered in the parser run its course, so an error it throws is this run's.
  await eventLoopTurns();
  expect(uncaught.splice(0)).toEqual([]);
  return result;
}

const name = fc.constantFrom('image', 'file', 'note', 'IMAGE', 'ima"ge', undefined);
const part: fc.Arbitrary<Part> = fc.record(
  {
    name,
    filename: fc.option(fc.constantFrom('a.jpg', 'été.png', '', '../x', 'a\u0007b'), { nil: undefined }),
    data: fc.uint8Array({ maxLength: 2 * MAX_BYTES }).map((bytes) => Buffer.from(bytes)),
  },
  { requiredKeys: ['name', 'data'] },
);

/** What the sender does to a body: nothing, cut it short, flip bytes in it, or send noise instead. */
const damage = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('corrupt' as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('noise' as const), bytes: fc.uint8Array({ maxLength: 4 * MAX_BYTES }) }),
);

type Damage = typeof damage extends fc.Arbitrary<infer T> ? T : never;

function damaged(body: Buffer, how: Damage): Buffer {
  switch (how.kind) {
    case 'none':
      return body;
    case 'truncate':
      return body.subarray(0, body.length === 0 ? 0 : how.at % body.length);
    case 'corrupt': {
      const copy = Buffer.from(body);
      for (const at of how.at) if (copy.length > 0) copy[at % copy.length] = how.byte;
      return copy;
    }
    case 'noise':
      return Buffer.from(how.bytes);
  }
}

const sending = fc.record({
  declareLength: fc.boolean(),
  cuts: fc.array(fc.nat({ max: 6 * MAX_BYTES }), { maxLength: 12 }),
  ending: fc.constantFrom<Ending>('end', 'end', 'end', 'disconnect'),
  unreadBody: fc.constantFrom<UnreadBody>('linger', 'drain'),
  contentType: fc.constantFrom(
    `multipart/form-data; boundary=${BOUNDARY}`,
    `multipart/form-data; boundary="${BOUNDARY}"`,
    'multipart/form-data',
    'text/plain',
    undefined,
  ),
});

describe('readMultipartFile, over generated bodies', () => {
  it('always settles with a file within the limit or a catalogue problem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(part, { maxLength: 5 }), fc.boolean(), damage, sending, async (parts, closed, how, send) => {
        const body = damaged(multipartBody(parts, { closed }), how);
        const headers = {
          ...(send.contentType === undefined ? {} : { 'content-type': send.contentType }),
          ...(send.declareLength ? { 'content-length': String(body.length) } : {}),
        };
        const req = new FakeRequest(headers, splitAt(body, send.cuts), send.ending);
        const result = await outcome(req, { fieldName: 'image', maxBytes: MAX_BYTES, unreadBody: send.unreadBody });
        if (result.file) {
          expect(result.file.length).toBeGreaterThan(0);
          expect(result.file.length).toBeLessThanOrEqual(MAX_BYTES);
        } else {
          expect(result.error).toBeInstanceOf(HttpProblem);
          expect(CATALOGUE.has((result.error as HttpProblem).type)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('returns exactly the one file of an intact body, however it is chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: MAX_BYTES }).map((bytes) => Buffer.from(bytes)),
        fc.array(fc.record({ name: fc.constantFrom('note', 'other'), data: fc.string({ maxLength: 64 }) }), { maxLength: 4 }),
        fc.array(fc.nat({ max: 2 * MAX_BYTES }), { maxLength: 12 }),
        fc.boolean(),
        async (data, fields, cuts, declareLength) => {
          const body = multipartBody([...fields, { name: 'image', filename: 'a.jpg', data }]);
          const headers = { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, ...(declareLength ? { 'content-length': String(body.length) } : {}) };
          const result = await outcome(new FakeRequest(headers, splitAt(body, cuts)), { fieldName: 'image', maxBytes: MAX_BYTES, unreadBody: 'linger' });
          expect(result.error).toBeUndefined();
          expect(result.file?.equals(data)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('settles the same way whatever the boundary, the part headers and their sizes', async () => {
    // RFC 2046 bchars: a boundary of 1 to 70 of them, not ending in a space.
    const bchars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
    const boundary = fc
      .array(fc.constantFrom(...Array.from(bchars)), { minLength: 1, maxLength: 70 })
      .map((chars) => chars.join(''))
      .filter((b) => !b.endsWith(' '));
    const headerLine = fc.oneof(
      fc.string({ maxLength: 40 }).map((v) => `X-Note: ${v}`),
      fc.nat({ max: 20_000 }).map((n) => `X-Long: ${'a'.repeat(n)}`),
      fc.string({ maxLength: 60 }),
    );
    await fc.assert(
      fc.asyncProperty(
        boundary,
        fc.boolean(),
        fc.array(headerLine, { maxLength: 60 }),
        fc.string({ maxLength: 200 }),
        fc.uint8Array({ minLength: 1, maxLength: MAX_BYTES }).map((bytes) => Buffer.from(bytes)),
        fc.array(fc.nat({ max: 4 * MAX_BYTES }), { maxLength: 12 }),
        async (b, quoted, extraHeaders, preamble, data, cuts) => {
          // Intact: well-formed header lines within busboy's 16 KB of part headers (past it, a
          // malformed-part problem), and no delimiter by chance in the file or the preamble.
          const wellFormed = extraHeaders.every((line) => /^X-(Note|Long): [^\r\n]*$/.test(line));
          const headerBytes = extraHeaders.reduce((sum, line) => sum + line.length + 2, 0);
          const intact = wellFormed && headerBytes < 15 * 1024 && !data.includes(`\r\n--${b}`) && !`\r\n${preamble}`.includes(`\r\n--${b}`);
          const body = multipartBody([{ name: 'image', filename: 'a.jpg', data }], { boundary: b, extraHeaders, preamble });
          const contentType = `multipart/form-data; boundary=${quoted || /[^0-9A-Za-z'+_\-.]/.test(b) ? `"${b}"` : b}`;
          const result = await outcome(new FakeRequest({ 'content-type': contentType }, splitAt(body, cuts)), {
            fieldName: 'image',
            maxBytes: MAX_BYTES,
            unreadBody: 'linger',
          });
          if (result.file) expect(result.file.length).toBeLessThanOrEqual(MAX_BYTES);
          else expect(CATALOGUE.has((result.error as HttpProblem).type)).toBe(true);
          if (intact) expect(result.file?.equals(data), `boundary ${JSON.stringify(b)}`).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
