/** What the page is doing right now, and the sentence the status line says about it. */
import type { FollowMode } from './follow-job.js';
import type { InvalidOption } from './upload-client.js';

export type View =
  | { state: 'idle' }
  | { state: 'uploading'; fileName: string }
  /** `jobId`: the result id the 202 named. */
  | { state: 'queued'; fileName: string; jobId: string; mode: FollowMode | null; attempts?: number }
  | { state: 'fetching'; fileName: string; jobId: string }
  | { state: 'done'; entryId: number; cacheHit: boolean; viaRabbit: boolean; elapsedMs: number }
  /** `jobId` when a queued job failed; `invalidOptions` when the api refused the options. */
  | { state: 'error'; title: string; detail: string; retryAfterSeconds?: number; jobId?: string; invalidOptions?: InvalidOption[] }
  /** The api answered 401: it wants a key (`refused`: the one sent was not accepted). */
  | { state: 'key-needed'; refused: boolean };

export const QUEUED_MESSAGE = 'Optimizer unavailable — queued in RabbitMQ, waiting for a worker…';

export function isBusy(view: View): boolean {
  return view.state === 'uploading' || view.state === 'queued' || view.state === 'fetching';
}

export function statusMessage(view: View): string {
  switch (view.state) {
    case 'idle':
      return 'Choose or drop an image to watermark it.';
    case 'uploading':
      return `Uploading ${view.fileName}…`;
    case 'queued':
      return QUEUED_MESSAGE;
    case 'fetching':
      return 'A worker finished the job — fetching the watermarked image…';
    case 'done': {
      const how = view.cacheHit ? ' from cache' : view.viaRabbit ? ' through RabbitMQ' : '';
      return `Done${how} in ${Math.round(view.elapsedMs)} ms.`;
    }
    case 'error':
      if (view.jobId) return 'The job failed.';
      return view.invalidOptions ? 'Upload refused: the options do not fit the preset.' : `Upload failed: ${view.title}.`;
    case 'key-needed':
      return view.refused ? 'Upload refused: the API key was not accepted.' : 'Upload refused: this service needs an API key.';
  }
}

/** The smaller line under the status: how the pending job is followed. */
export function followDetail(mode: FollowMode | null, attempts: number | undefined): string {
  const how = mode === 'events' ? 'Live updates from the server' : mode === 'polling' ? 'Checking every 0.5 s' : 'Connecting…';
  return attempts && attempts > 0 ? `${how} · attempt ${attempts}` : how;
}
