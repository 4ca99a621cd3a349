/**
 * Follows a queued job until it is done or failed. Server-Sent Events (`/events/{id}`) carry the
 * changes; when EventSource is missing or errors, `/status/{id}` is polled instead (`id`: the
 * result id, the 202's jobId). While events flow, a slow safety poll still runs, so a missed event
 * or a stream stuck behind a proxy cannot leave the page waiting forever. Every browser API is injected, so this runs under plain Node.
 */
// Types only: the contract's zod schemas stay out of the browser bundle.
import type { JobState, JobStatus } from '../../shared/contracts/index.js';
import { browserTimers, type Timers } from './timers.js';
import { isAbortError, type FetchLike } from './upload-client.js';

export type FinishedJob = { status: 'done'; url: string; attempts?: number } | { status: 'failed'; error: string; attempts?: number };

/** Where updates currently come from: the event stream, or polling every `pollIntervalMs`. */
export type FollowMode = 'events' | 'polling';

/** The part of `EventSource` this module uses. */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: Event) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

export interface FollowDeps extends Timers {
  /** Opens an event stream; `null` when the environment has no EventSource. */
  createEventSource: EventSourceFactory | null;
  fetch: FetchLike;
}

export interface FollowOptions extends FollowDeps {
  onStatus?: (status: JobStatus, via: FollowMode) => void;
  onMode?: (mode: FollowMode) => void;
  signal?: AbortSignal;
  /** Poll period once events are unavailable. */
  pollIntervalMs?: number;
  /** Safety poll period while events are live. */
  safetyPollIntervalMs?: number;
  /** `/status` 404s in a row before the job is reported as unknown. */
  maxNotFound?: number;
}

export const POLL_INTERVAL_MS = 500;
export const SAFETY_POLL_INTERVAL_MS = 2000;
export const MAX_NOT_FOUND = 10;

/** The browser's own implementations. */
export function browserFollowDeps(): FollowDeps {
  return {
    createEventSource: typeof EventSource === 'function' ? (url) => new EventSource(url) : null,
    fetch: (input, init) => fetch(input, init),
    ...browserTimers(),
  };
}

/** The contract's states as a value; `satisfies` fails the build the day the contract's list changes. */
const JOB_STATES = { pending: true, done: true, failed: true } as const satisfies Record<JobState, true>;

/**
 * A `/status` or `/events` payload as the status view; `null` when it is not one. Only the shape
 * that decides what the page does is checked (an object with one of the contract's states): the api
 * builds every answer as the contract's type, so the rest is trusted as typed, not decoded again
 * here. What is not the api (a proxy's error page, a stray event) fails this check and is ignored.
 */
export function asJobStatus(value: unknown): JobStatus | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const state: unknown = (value as { status?: unknown }).status;
  return typeof state === 'string' && Object.hasOwn(JOB_STATES, state) ? (value as JobStatus) : null;
}

function finished(jobId: string, status: JobStatus): FinishedJob | null {
  const attempts = status.attempts === undefined ? {} : { attempts: status.attempts };
  if (status.status === 'done') return { status: 'done', url: status.url ?? `/image/${jobId}`, ...attempts };
  if (status.status === 'failed') return { status: 'failed', error: status.error ?? 'The job failed.', ...attempts };
  return null;
}

/**
 * Resolves with the job's final state. Rejects only when `signal` aborts (with an AbortError);
 * transient failures (network, 5xx) keep it polling, because a queued job may wait for minutes.
 */
export function followJob(jobId: string, options: FollowOptions): Promise<FinishedJob> {
  const {
    createEventSource,
    fetch,
    setTimeout,
    clearTimeout,
    onStatus,
    onMode,
    signal,
    pollIntervalMs = POLL_INTERVAL_MS,
    safetyPollIntervalMs = SAFETY_POLL_INTERVAL_MS,
    maxNotFound = MAX_NOT_FOUND,
  } = options;
  const statusUrl = `/status/${encodeURIComponent(jobId)}`;
  const eventsUrl = `/events/${encodeURIComponent(jobId)}`;

  return new Promise<FinishedJob>((resolve, reject) => {
    let settled = false;
    let mode: FollowMode | null = null;
    let source: EventSourceLike | null = null;
    let timer: unknown = null;
    let polling = false;
    let notFound = 0;

    const stop = (): void => {
      settled = true;
      source?.close();
      source = null;
      if (timer !== null) clearTimeout(timer);
      timer = null;
      signal?.removeEventListener('abort', onAbort);
    };

    function onAbort(): void {
      if (settled) return;
      stop();
      reject(abortError(signal?.reason));
    }

    const finish = (job: FinishedJob): void => {
      if (settled) return;
      stop();
      resolve(job);
    };

    const accept = (status: JobStatus, via: FollowMode): void => {
      if (settled) return;
      notFound = 0;
      onStatus?.(status, via);
      const done = finished(jobId, status);
      if (done) finish(done);
    };

    const setMode = (next: FollowMode): void => {
      if (mode === next) return;
      mode = next;
      onMode?.(next);
    };

    const schedulePoll = (delay: number): void => {
      if (settled) return;
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        void poll();
      }, delay);
    };

    const nextDelay = (): number => (mode === 'events' ? safetyPollIntervalMs : pollIntervalMs);

    const poll = async (): Promise<void> => {
      // A poll already in flight schedules the next one when it ends, at the then-current pace.
      if (settled || polling) return;
      polling = true;
      try {
        const response = await fetch(statusUrl, {
          headers: { Accept: 'application/json' },
          cache: 'no-store',
          ...(signal ? { signal } : {}),
        });
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- settled may change while the fetch is awaited
        if (settled) return;
        if (response.ok) {
          const status = asJobStatus(await response.json().catch(() => null));
          if (status) accept(status, 'polling');
        } else if (response.status === 404 || response.status === 400) {
          // 400: not a result id at all; 404: the api does not know it (tolerated briefly, it may lag).
          notFound += 1;
          if (response.status === 400 || notFound >= maxNotFound) {
            finish({ status: 'failed', error: `The server does not know this job (HTTP ${response.status}).` });
          }
        }
        // Anything else (5xx, 429…) is transient: keep following.
      } catch (error) {
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- settled may change while the fetch is awaited
        if (settled || isAbortError(error)) return;
        // Network failure (api restarting, connection lost): keep following.
      } finally {
        polling = false;
        schedulePoll(nextDelay());
      }
    };

    const startPolling = (): void => {
      setMode('polling');
      if (timer !== null) clearTimeout(timer);
      timer = null;
      void poll();
    };

    const startEvents = (factory: EventSourceFactory): void => {
      let stream: EventSourceLike;
      try {
        stream = factory(eventsUrl);
      } catch {
        startPolling();
        return;
      }
      source = stream;
      setMode('events');
      const onMessage = (event: Event): void => {
        if (settled || source !== stream) return;
        const data = (event as MessageEvent<unknown>).data;
        if (typeof data !== 'string') return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          return;
        }
        const status = asJobStatus(parsed);
        if (status) accept(status, 'events');
      };
      stream.addEventListener('status', onMessage);
      // Unnamed events arrive as `message`; accept them too.
      stream.addEventListener('message', onMessage);
      stream.addEventListener('error', () => {
        if (settled || source !== stream) return;
        // EventSource would reconnect on its own; the contract says poll instead.
        stream.close();
        source = null;
        startPolling();
      });
      schedulePoll(safetyPollIntervalMs);
    };

    if (signal?.aborted) {
      settled = true;
      reject(abortError(signal.reason));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    if (createEventSource) startEvents(createEventSource);
    else startPolling();
  });
}

function abortError(reason: unknown): Error {
  if (isAbortError(reason) && reason instanceof Error) return reason;
  return new DOMException('Following the job was cancelled.', 'AbortError');
}
