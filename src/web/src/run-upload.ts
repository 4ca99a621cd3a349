/**
 * One upload from the user's gesture to a result ready to show: upload, and when the api queued
 * the job (202, optimizer unavailable), follow it and fetch the finished image. The page renders
 * the phases this reports; the I/O comes in as functions, so the whole flow is testable.
 */
import type { JobStatus } from '../../shared/contracts/index.js';
import type { FinishedJob, FollowMode } from './follow-job.js';
import { fetchImage, uploadImage, type FetchLike, type ProblemDetails } from './upload-client.js';

export type UploadPhase =
  { phase: 'uploading' } | { phase: 'queued'; hash: string; mode: FollowMode | null; attempts?: number } | { phase: 'fetching'; hash: string };

export interface UploadResult {
  blob: Blob;
  contentType: string;
  hash: string | null;
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
  { kind: 'result'; result: UploadResult } | { kind: 'problem'; problem: ProblemDetails } | { kind: 'failed'; hash: string; error: string; attempts?: number };

export type FollowFn = (
  hash: string,
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

/** Rejects only when `deps.signal` aborts. */
export async function runUpload(file: Blob, fileName: string, startedAt: number, deps: RunUploadDeps): Promise<FinishedUpload> {
  const request = { ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.signal ? { signal: deps.signal } : {}) };
  deps.onPhase?.({ phase: 'uploading' });
  const uploaded = await uploadImage(file, fileName, request);
  if (uploaded.kind === 'problem') return uploaded;

  const finish = async (
    image: { blob: Blob; contentType: string },
    extra: Pick<UploadResult, 'hash' | 'cacheHit' | 'viaRabbit'> & { attempts?: number },
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
        elapsedMs: Math.max(0, deps.now() - startedAt),
        ...extra,
      },
    };
  };

  if (uploaded.kind === 'image') {
    return finish(uploaded, { hash: uploaded.hash, cacheHit: uploaded.cache === 'HIT', viaRabbit: false });
  }

  const hash = uploaded.jobId;
  let mode: FollowMode | null = null;
  let attempts: number | undefined;
  const report = (): void => deps.onPhase?.({ phase: 'queued', hash, mode, ...(attempts === undefined ? {} : { attempts }) });
  report();
  const job = await deps.follow(hash, {
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
    return { kind: 'failed', hash, error: job.error, ...(job.attempts === undefined ? {} : { attempts: job.attempts }) };
  }

  deps.onPhase?.({ phase: 'fetching', hash });
  const image = await fetchImage(job.url, request);
  if (image.kind === 'problem') return image;
  const jobAttempts = job.attempts ?? attempts;
  return finish(image, {
    hash: image.hash ?? hash,
    cacheHit: false,
    viaRabbit: true,
    ...(jobAttempts === undefined ? {} : { attempts: jobAttempts }),
  });
}
