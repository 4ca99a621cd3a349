/**
 * The api's upload and image endpoints, seen from the page. HTTP outcomes become a discriminated
 * union the UI switches on (image now, queued job, or an RFC 9457 problem); only an abort rejects.
 */
import type { AcceptedJob, WatermarkSettings } from '../../shared/contracts/index.js';
import { isRecord } from './json-shape.js';
import { asWatermarkSettings, parseSettingsHeader } from './settings-header.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ProblemDetails {
  type: string;
  title: string;
  /** HTTP status; 0 when the server could not be reached at all. */
  status: number;
  detail: string;
  /** From `Retry-After` (503): how long to wait before trying again. */
  retryAfterSeconds?: number;
  /** The `invalidOptions` extension of a 400 invalid-options: each option at fault. */
  invalidOptions?: InvalidOption[];
}

export interface InvalidOption {
  field: string;
  expected: string;
  received: string;
}

export type CacheOutcome = 'HIT' | 'MISS';

export interface ImageResponse {
  kind: 'image';
  blob: Blob;
  contentType: string;
  /** `X-Image-Hash`: the SHA-256 of the uploaded bytes, when the server sent a well-formed one. */
  hash: string | null;
  /** `X-Result-Id`: the result's id, which `/status`, `/image` and `/events` take. */
  resultId: string | null;
  /** `X-Watermark-Settings`: the effective settings that made it (only the upload's 200 carries them). */
  settings: WatermarkSettings | null;
  /** `X-Cache`, when present. */
  cache: CacheOutcome | null;
}

/** The 202's job (the api's `AcceptedJob`): which job to follow (`jobId`, the result id), and where. */
export interface QueuedResponse extends Pick<AcceptedJob, 'jobId' | 'statusUrl'> {
  kind: 'queued';
  /** The SHA-256 of the uploaded bytes, when the body carried a well-formed one. */
  imageHash: string | null;
  /** The effective settings the job applies, when the body carried them. */
  settings: WatermarkSettings | null;
}

export interface ProblemResponse {
  kind: 'problem';
  problem: ProblemDetails;
}

export type UploadResponse = ImageResponse | QueuedResponse | ProblemResponse;

export interface RequestOptions {
  fetch?: FetchLike;
  signal?: AbortSignal;
}

/** An upload option as a multipart text field: `[name, value]`, e.g. `['position', 'northwest']`. */
export type UploadField = readonly [name: string, value: string];

const HASH_PATTERN = /^[0-9a-f]{64}$/;

export function isImageHash(value: unknown): value is string {
  return typeof value === 'string' && HASH_PATTERN.test(value);
}

/**
 * `POST /upload` with the options as text fields, then the file in the multipart field `image`.
 * The fields come first: the api reads the body as it streams, and options after the file would
 * arrive only once the whole file has.
 */
export async function uploadImage(
  file: Blob,
  fileName: string,
  options: RequestOptions & { fields?: readonly UploadField[] } = {},
): Promise<ImageResponse | QueuedResponse | ProblemResponse> {
  const form = new FormData();
  for (const [name, value] of options.fields ?? []) form.append(name, value);
  form.append('image', file, fileName || 'upload');
  const response = await send(options, '/upload', {
    method: 'POST',
    body: form,
    headers: { Accept: 'image/*, application/json, application/problem+json' },
  });
  if ('kind' in response) return response;

  if (response.status === 200) return readImage(response);
  if (response.status === 202) return readQueued(response);
  return { kind: 'problem', problem: await readProblem(response) };
}

/** `GET /image/{id}` (or the `url` a finished job reports). */
export async function fetchImage(url: string, options: RequestOptions = {}): Promise<ImageResponse | ProblemResponse> {
  const response = await send(options, url, { headers: { Accept: 'image/*' } });
  if ('kind' in response) return response;
  if (response.ok) return readImage(response);
  return { kind: 'problem', problem: await readProblem(response) };
}

async function send(options: RequestOptions, url: string, init: RequestInit): Promise<Response | ProblemResponse> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  try {
    return await doFetch(url, options.signal ? { ...init, signal: options.signal } : init);
  } catch (error) {
    if (isAbortError(error) || options.signal?.aborted) throw error;
    return {
      kind: 'problem',
      problem: {
        type: 'about:blank',
        title: 'Network error',
        status: 0,
        detail: `The server could not be reached (${errorMessage(error)}). Check your connection and try again.`,
      },
    };
  }
}

async function readImage(response: Response): Promise<ImageResponse> {
  const blob = await response.blob();
  const cache = response.headers.get('X-Cache')?.trim().toUpperCase() ?? null;
  return {
    kind: 'image',
    blob,
    contentType: response.headers.get('Content-Type') ?? (blob.type || 'application/octet-stream'),
    hash: hashHeader(response, 'X-Image-Hash'),
    resultId: hashHeader(response, 'X-Result-Id'),
    settings: parseSettingsHeader(response.headers.get('X-Watermark-Settings')),
    cache: cache === 'HIT' || cache === 'MISS' ? cache : null,
  };
}

function hashHeader(response: Response, name: string): string | null {
  const value = response.headers.get(name)?.trim().toLowerCase() ?? null;
  return isImageHash(value) ? value : null;
}

async function readQueued(response: Response): Promise<QueuedResponse | ProblemResponse> {
  const body = await readJson(response);
  const record = isRecord(body) ? body : {};
  const jobId = record.jobId;
  if (!isImageHash(jobId)) {
    return {
      kind: 'problem',
      problem: {
        type: 'about:blank',
        title: 'Unexpected response',
        status: 202,
        detail: 'The upload was accepted but the server did not say which job to follow.',
      },
    };
  }
  const statusUrl = typeof record.statusUrl === 'string' ? record.statusUrl : `/status/${jobId}`;
  return {
    kind: 'queued',
    jobId,
    statusUrl,
    imageHash: isImageHash(record.imageHash) ? record.imageHash : null,
    settings: asWatermarkSettings(record.settings),
  };
}

/**
 * Reads an error response as problem details. Bodies that are not problem+json (a proxy's HTML
 * page, an empty 502) still give a title and a detail a person can act on.
 */
export async function readProblem(response: Response, now: number = Date.now()): Promise<ProblemDetails> {
  const body = await readJson(response);
  const record = isRecord(body) ? body : {};
  const title = nonEmptyString(record.title) ?? (response.statusText || defaultTitle(response.status));
  const detail = nonEmptyString(record.detail) ?? `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`;
  const problem: ProblemDetails = {
    type: nonEmptyString(record.type) ?? 'about:blank',
    title,
    status: typeof record.status === 'number' ? record.status : response.status,
    detail,
  };
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'), now);
  if (retryAfter !== undefined) problem.retryAfterSeconds = retryAfter;
  const invalidOptions = Array.isArray(record.invalidOptions) ? record.invalidOptions.filter(isInvalidOption) : [];
  if (invalidOptions.length > 0) problem.invalidOptions = invalidOptions;
  return problem;
}

/** `Retry-After` is either delta-seconds or an HTTP date; returns whole seconds from `now`. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

async function readJson(response: Response): Promise<unknown> {
  const type = response.headers.get('Content-Type') ?? '';
  if (!/json/i.test(type)) return undefined;
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function defaultTitle(status: number): string {
  if (status >= 500) return 'Server error';
  if (status >= 400) return 'Request refused';
  return 'Unexpected response';
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function isInvalidOption(value: unknown): value is InvalidOption {
  return isRecord(value) && typeof value.field === 'string' && typeof value.expected === 'string' && typeof value.received === 'string';
}

export function isAbortError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/**
 * The page's one way to word a failure. It cannot share src/shared/errors.ts: the page imports
 * types only from src/shared (tests/unit/web/contract-imports.test.ts), so it has its own.
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
