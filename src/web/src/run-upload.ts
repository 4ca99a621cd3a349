/**
 * One upload from the user's gesture to a result ready to show: upload, and when the api queued
 * the job (202, optimizer unavailable), follow it and fetch the finished image. The page renders
 * the phases this reports; the I/O comes in as functions, so the whole flow is testable.
 */
import type { JobStatus, WatermarkSettings } from '../../shared/contracts/index.js';
import type { FinishedJob, FollowMode } from './follow-job.js';
import { fetchImage, uploadImage, type FetchLike, type ProblemDetails, type UploadField } from './upload-client.js';

/** `jobId` is the result id the 202 named: what `/status`, `/events` and `/image` take. */
export type UploadPhase =
  { phase: 'uploading' } | { phase: 'queued'; jobId: string; mode: FollowMode | null; attempts?: number } | { phase: 'fetching'; jobId: string };

export interface UploadResult {
  blob: Blob;
  contentType: string;
  /** The SHA-256 of the uploaded bytes (X-Image-Hash): the same for every result of one image. */
  hash: string | null;
  /** The result's id (X-Result-Id, or the 202's jobId): one per image and settings. */
  resultId: string | null;
  /** The preset the upload named; `null` when it named none (the api's `default`). */
  preset: string | null;
  /** The effective settings that made it, as the api reported them. */
  settings: WatermarkSettings | null;
  /** `X-Cache: HIT` on the upload response. */
  cacheHit: boolean;
  /** The result came through the RabbitMQ fallback (202, then done). */
  viaRabbit: boolean;
  /** Worker attempts the job needed, when it went through the fallback. */
  attempts?: number;
  sizeBytes: number;
  originalBytes: number;
  fileName: string;
  /** From the user's gesture to the decoded result. */
  elapsedMs: number;
}

/** How one upload ended for the page: a result to show, a problem to explain, or a job that failed. */
export type FinishedUpload =
  { kind: 'result'; result: UploadResult } | { kind: 'problem'; problem: ProblemDetails } | { kind: 'failed'; jobId: string; error: string; attempts?: number };

export type FollowFn = (
  jobId: string,
  handlers: {
    onStatus: (status: JobStatus, via: FollowMode) => void;
    onMode: (mode: FollowMode) => void;
    signal?: AbortSignal;
  },
) => Promise<FinishedJob>;

export interface RunUploadDeps {
  fetch?: FetchLike;
  follow: FollowFn;
  /** Monotonic clock in ms (performance.now in the browser). */
  now: () => number;
  /** Decodes the result before it is shown, so the elapsed time covers it; failures are ignored. */
  prepare?: (blob: Blob) => Promise<void>;
  onPhase?: (phase: UploadPhase) => void;
  signal?: AbortSignal;
}

/** Rejects only when `deps.signal` aborts. `fields`: the upload's options (see options-panel.ts). */
export async function runUpload(
  file: Blob,
  fileName: string,
  startedAt: number,
  deps: RunUploadDeps,
  fields: readonly UploadField[] = [],
): Promise<FinishedUpload> {
  const request = { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.signal ? { signal: deps.signal } : {}) };
  const preset = fields.find(([name]) => name === 'preset')?.[1] ?? null;
  deps.onPhase?.({ phase: 'uploading' });
  const uploaded = await uploadImage(file, fileName, { ...request, fields });
  if (uploaded.kind === 'problem') return uploaded;

  const finish = async (
    image: { blob: Blob; contentType: string },
    extra: Pick<UploadResult, 'hash' | 'resultId' | 'settings' | 'cacheHit' | 'viaRabbit'> & { attempts?: number },
  ): Promise<FinishedUpload> => {
    if (deps.prepare) await deps.prepare(image.blob).catch(() => undefined);
    deps.signal?.throwIfAborted();
    return {
      kind: 'result',
      result: {
        blob: image.blob,
        contentType: image.contentType,
        sizeBytes: image.blob.size,
        originalBytes: file.size,
        fileName,
        preset,
        elapsedMs: Math.max(0, deps.now() - startedAt),
        ...extra,
      },
    };
  };

  if (uploaded.kind === 'image') {
    const { hash, resultId, settings } = uploaded;
    return finish(uploaded, { hash, resultId, settings, cacheHit: uploaded.cache === 'HIT', viaRabbit: false });
  }

  const { jobId } = uploaded;
  let mode: FollowMode | null = null;
  let attempts: number | undefined;
  const report = (): void => deps.onPhase?.({ phase: 'queued', jobId, mode, ...(attempts === undefined ? {} : { attempts }) });
  report();
  const job = await deps.follow(jobId, {
    onStatus: (status) => {
      if (status.attempts !== undefined && status.attempts !== attempts) {
        attempts = status.attempts;
        if (status.status === 'pending') report();
      }
    },
    onMode: (next) => {
      mode = next;
      report();
    },
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  if (job.status === 'failed') {
    return { kind: 'failed', jobId, error: job.error, ...(job.attempts === undefined ? {} : { attempts: job.attempts }) };
  }

  deps.onPhase?.({ phase: 'fetching', jobId });
  const image = await fetchImage(job.url, request);
  if (image.kind === 'problem') return image;
  const jobAttempts = job.attempts ?? attempts;
  return finish(image, {
    // `/image/{id}` names the result, not the bytes it was made from: those the 202 named.
    hash: uploaded.imageHash ?? image.hash,
    resultId: jobId,
    settings: uploaded.settings ?? image.settings,
    cacheHit: false,
    viaRabbit: true,
    ...(jobAttempts === undefined ? {} : { attempts: jobAttempts }),
  });
}
