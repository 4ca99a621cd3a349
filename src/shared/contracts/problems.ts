/**
 * The catalogue of problem types every service answers with (RFC 9457 problem+json), and the
 * schema of the document itself. Each type is written here once — its slug, which ends its public
 * type URI, its title and its HTTP status — and everything that answers a problem names it from
 * here, so the api and the optimizer cannot call the same fault two things.
 */
import { z } from 'zod';

/** Slugs are appended to this to make the `type` URI; both are public and must not change. */
export const PROBLEM_TYPE_BASE = 'https://nws-watermark.dev/problems/';

/**
 * Titles are the status's reason phrase (RFC 9110): the web page shows them ("Upload failed:
 * Content Too Large."), and the detail says what was wrong with this request.
 */
const TITLES = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
} as const;

export type ProblemStatus = keyof typeof TITLES;

export interface ProblemType {
  readonly slug: string;
  /** `PROBLEM_TYPE_BASE` + slug: the document's `type`. */
  readonly uri: string;
  readonly title: string;
  readonly status: ProblemStatus;
}

function problemType(slug: string, status: ProblemStatus): ProblemType {
  return Object.freeze({ slug, uri: `${PROBLEM_TYPE_BASE}${slug}`, title: TITLES[status], status });
}

export const PROBLEMS = Object.freeze({
  // An upload's multipart framing and limits (shared/http/multipart.ts), the same in every service.
  notMultipart: problemType('not-multipart', 400),
  badMultipart: problemType('bad-multipart', 400),
  wrongField: problemType('wrong-field', 400),
  missingFile: problemType('missing-file', 400),
  severalFiles: problemType('several-files', 400),
  emptyFile: problemType('empty-file', 400),
  tooManyParts: problemType('too-many-parts', 400),
  tooManyFields: problemType('too-many-fields', 400),
  uploadAborted: problemType('upload-aborted', 400),
  uploadTimeout: problemType('upload-timeout', 408),
  tooLarge: problemType('too-large', 413),

  // The image itself.
  unsupportedType: problemType('unsupported-type', 415),
  undecodable: problemType('undecodable', 422),
  tooManyPixels: problemType('too-many-pixels', 422),

  // Watermark options (shared/watermark/options.ts): `invalidOptions` lists each field at fault.
  invalidOptions: problemType('invalid-options', 400),
  /** A rendition (`/image/{id}?w=`) off the operator's list. */
  badRendition: problemType('bad-rendition', 400),

  // Addressing.
  badHash: problemType('bad-hash', 400),
  unknownImage: problemType('unknown-image', 404),
  notFound: problemType('not-found', 404),
  /** A request express itself refused (a malformed percent-encoding in the path). */
  badRequest: problemType('bad-request', 400),

  // Access (api/access/): no valid API key, or a key that may not do this.
  unauthorized: problemType('unauthorized', 401),
  presetNotAllowed: problemType('preset-not-allowed', 403),
  /** A signed result URL past its `expires`. */
  signedUrlExpired: problemType('signed-url-expired', 403),
  /** A signed result URL whose signature no signing key made, or a malformed one. */
  badSignature: problemType('bad-signature', 403),
  /** Over RATE_LIMIT_UPLOADS_PER_MINUTE (and RATE_LIMIT_BURST): Retry-After and the RateLimit headers say when to come back. */
  rateLimited: problemType('rate-limited', 429),
  /** Over UPLOADS_IN_FLIGHT_PER_CLIENT: wait for an upload of this client to be answered. */
  tooManyUploads: problemType('too-many-uploads', 429),

  // A dependency, or the service itself.
  unavailable: problemType('unavailable', 503),
  /** The broker did not confirm the job in time: it may still run. */
  unconfirmed: problemType('unconfirmed', 503),
  /** The optimizer has more work waiting than it serves. */
  saturated: problemType('saturated', 503),
  internal: problemType('internal', 500),
} satisfies Record<string, ProblemType>);

/** A problem+json document as it crosses the wire; extension members (e.g. `maxBytes`) pass through. */
export const problemDocumentSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
});

export type ProblemDocument = z.infer<typeof problemDocumentSchema>;
