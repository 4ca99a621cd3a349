import { describe, expect, it } from 'vitest';
import { followJob, type FinishedJob } from '../../../src/web/src/follow-job.js';
import { runUpload, type FollowFn, type RunUploadDeps, type UploadPhase } from '../../../src/web/src/run-upload.js';
import { FakeClock, fakeEventSources, fakeFetch, image, json, problem, settle, watermarkSettings, type Route } from './fakes.js';

const HASH = 'c'.repeat(64);
/** The SHA-256 of the uploaded bytes, apart from the result id (HASH) the api names the result by. */
const IMAGE_HASH = 'd'.repeat(64);
const SETTINGS = watermarkSettings({ text: 'ACME', position: 'northwest', format: 'webp' });
const FILE = new Blob([new Uint8Array(2048)], { type: 'image/jpeg' });

function deps(route: Route, follow: FollowFn, extra: Partial<RunUploadDeps> = {}) {
  const phases: UploadPhase[] = [];
  const { fetch, calls } = fakeFetch(route);
  let clock = 1000;
  const value: RunUploadDeps = {
    fetch,
    follow,
    now: () => clock,
    onPhase: (phase) => phases.push(phase),
    ...extra,
  };
  return { deps: value, phases, calls, tick: (ms: number) => (clock += ms) };
}

const neverFollow: FollowFn = () => Promise.reject(new Error('should not follow'));

function scriptedFollow(job: FinishedJob, attempts?: number): FollowFn {
  return async (_hash, { onMode, onStatus }) => {
    onMode('events');
    if (attempts !== undefined) onStatus({ status: 'pending', attempts }, 'events');
    return job;
  };
}

describe('runUpload', () => {
  it('shows a synchronous result with its size, hash and elapsed time', async () => {
    const prepared: Blob[] = [];
    const t = deps(() => image(Array<number>(1536).fill(7), { 'X-Cache': 'MISS', 'X-Image-Hash': HASH }), neverFollow, {
      prepare: async (blob) => {
        prepared.push(blob);
        t.tick(30);
      },
    });
    t.tick(120);
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps);

    expect(outcome.kind).toBe('result');
    if (outcome.kind !== 'result') return;
    expect(outcome.result).toMatchObject({
      hash: HASH,
      cacheHit: false,
      viaRabbit: false,
      sizeBytes: 1536,
      originalBytes: 2048,
      fileName: 'photo.jpg',
      contentType: 'image/webp',
      elapsedMs: 150,
    });
    expect(prepared).toEqual([outcome.result.blob]);
    expect(t.phases).toEqual([{ phase: 'uploading' }]);
  });

  it('marks a cache hit', async () => {
    const t = deps(() => image([1], { 'X-Cache': 'HIT', 'X-Image-Hash': HASH }), neverFollow);
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps);

    expect(outcome).toMatchObject({ kind: 'result', result: { cacheHit: true, viaRabbit: false } });
  });

  it('still shows the result when decoding it fails', async () => {
    const t = deps(() => image([1]), neverFollow, { prepare: () => Promise.reject(new Error('cannot decode')) });
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps);

    expect(outcome.kind).toBe('result');
  });

  it('follows a queued job, then fetches the image from its url and marks it as through RabbitMQ', async () => {
    const t = deps(
      (url) => (url === '/upload' ? json({ jobId: HASH, status: 'pending', statusUrl: `/status/${HASH}` }, 202) : image([1, 2, 3, 4])),
      scriptedFollow({ status: 'done', url: `/image/${HASH}` }, 2),
    );
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps);

    expect(t.calls.map((call) => call.url)).toEqual(['/upload', `/image/${HASH}`]);
    expect(outcome).toMatchObject({
      kind: 'result',
      result: { hash: null, resultId: HASH, viaRabbit: true, cacheHit: false, attempts: 2, sizeBytes: 4 },
    });
    expect(t.phases).toEqual([
      { phase: 'uploading' },
      { phase: 'queued', jobId: HASH, mode: null },
      { phase: 'queued', jobId: HASH, mode: 'events' },
      { phase: 'queued', jobId: HASH, mode: 'events', attempts: 2 },
      { phase: 'fetching', jobId: HASH },
    ]);
  });

  it('reports a failed job with its error', async () => {
    const t = deps(() => json({ jobId: HASH, status: 'pending' }, 202), scriptedFollow({ status: 'failed', error: 'too many pixels', attempts: 5 }));
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps);

    expect(outcome).toEqual({ kind: 'failed', jobId: HASH, error: 'too many pixels', attempts: 5 });
  });

  it('passes problems through', async () => {
    const t = deps(() => problem(413, 'Content Too Large', 'Images are limited to 20 MB'), neverFollow);
    const outcome = await runUpload(FILE, 'huge.jpg', 1000, t.deps);

    expect(outcome).toMatchObject({ kind: 'problem', problem: { status: 413, title: 'Content Too Large' } });
  });

  it('reports a finished job whose image cannot be fetched as a problem', async () => {
    const t = deps(
      (url) => (url === '/upload' ? json({ jobId: HASH, status: 'pending' }, 202) : problem(404, 'Not Found', 'gone')),
      scriptedFollow({ status: 'done', url: `/image/${HASH}` }),
    );
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps);

    expect(outcome).toMatchObject({ kind: 'problem', problem: { status: 404, detail: 'gone' } });
  });

  it('goes from 202 to the image through the event stream with the real follower', async () => {
    const clock = new FakeClock();
    const sources = fakeEventSources();
    const t = deps(
      (url) => (url === '/upload' ? json({ jobId: HASH, status: 'pending', statusUrl: `/status/${HASH}` }, 202) : image([9, 9])),
      (hash, handlers) =>
        followJob(hash, {
          createEventSource: sources.create,
          fetch: () => Promise.reject(new Error('no polling expected')),
          setTimeout: clock.setTimeout,
          clearTimeout: clock.clearTimeout,
          ...handlers,
        }),
    );
    const pending = runUpload(FILE, 'photo.jpg', 1000, t.deps);
    await settle();

    expect(t.phases.at(-1)).toEqual({ phase: 'queued', jobId: HASH, mode: 'events' });
    sources.opened[0]!.emit(JSON.stringify({ status: 'done', url: `/image/${HASH}`, attempts: 1 }));
    const outcome = await pending;

    expect(outcome).toMatchObject({ kind: 'result', result: { viaRabbit: true, attempts: 1, resultId: HASH } });
    expect(sources.opened[0]!.closed).toBe(true);
  });

  it('keeps the result id apart from the hash of the uploaded bytes, with the settings that made it', async () => {
    const t = deps(() => image([1], { 'X-Image-Hash': IMAGE_HASH, 'X-Result-Id': HASH, 'X-Watermark-Settings': JSON.stringify(SETTINGS) }), neverFollow);
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps, [
      ['preset', 'web'],
      ['text', 'ACME'],
    ]);

    expect(outcome).toMatchObject({ kind: 'result', result: { hash: IMAGE_HASH, resultId: HASH, preset: 'web', settings: SETTINGS } });
    const form = t.calls[0]?.init?.body as FormData;
    expect([...form.keys()]).toEqual(['preset', 'text', 'image']);
  });

  it('names no preset when the upload sent none', async () => {
    const t = deps(() => image([1], { 'X-Result-Id': HASH }), neverFollow);
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps);

    expect(outcome).toMatchObject({ kind: 'result', result: { preset: null, settings: null, resultId: HASH } });
  });

  it('follows a queued job by its result id and keeps the image hash and the settings of the 202', async () => {
    const followed: string[] = [];
    const accepted = { jobId: HASH, imageHash: IMAGE_HASH, status: 'pending', statusUrl: `/status/${HASH}`, settings: SETTINGS };
    const t = deps(
      (url) => (url === '/upload' ? json(accepted, 202) : image([1, 2], { 'X-Result-Id': HASH })),
      (jobId, handlers) => (followed.push(jobId), scriptedFollow({ status: 'done', url: `/image/${HASH}` })(jobId, handlers)),
    );
    const outcome = await runUpload(FILE, 'photo.jpg', 1000, t.deps);

    expect(followed).toEqual([HASH]);
    expect(t.calls.map((call) => call.url)).toEqual(['/upload', `/image/${HASH}`]);
    expect(outcome).toMatchObject({ kind: 'result', result: { hash: IMAGE_HASH, resultId: HASH, settings: SETTINGS, viaRabbit: true } });
  });

  it('rejects when cancelled while following', async () => {
    const controller = new AbortController();
    const t = deps(
      () => json({ jobId: HASH, status: 'pending' }, 202),
      (_hash, { signal }) =>
        new Promise<FinishedJob>((_resolve, reject) => signal?.addEventListener('abort', () => reject(new DOMException('cancelled', 'AbortError')))),
      { signal: controller.signal },
    );
    const pending = runUpload(FILE, 'photo.jpg', 1000, t.deps);
    await settle();
    controller.abort();

    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
