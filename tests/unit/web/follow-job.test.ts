import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../src/shared/contracts/job-status.js';
import { asJobStatus, followJob, type FollowMode, type FollowOptions } from '../../../src/web/src/follow-job.js';
import { FakeClock, fakeEventSources, fakeFetch, json, settle, type Route } from './fakes.js';

const HASH = 'b'.repeat(64);
const STATUS_URL = `/status/${HASH}`;

function setup(route: Route, { eventSource = true } = {}) {
  const clock = new FakeClock();
  const sources = fakeEventSources();
  const { fetch, calls } = fakeFetch(route);
  const statuses: [JobStatus, FollowMode][] = [];
  const modes: FollowMode[] = [];
  const options: FollowOptions = {
    createEventSource: eventSource ? sources.create : null,
    fetch,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    onStatus: (status, via) => statuses.push([status, via]),
    onMode: (mode) => modes.push(mode),
  };
  const pollTimes = () => calls.filter((call) => call.url === STATUS_URL).length;
  return { clock, sources, calls, statuses, modes, options, pollTimes };
}

/** Tracks whether a promise settled, without awaiting it. */
function observe<T>(promise: Promise<T>) {
  const state: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { value, settled: true }),
    (error: unknown) => Object.assign(state, { error, settled: true }),
  );
  return state;
}

describe('followJob with Server-Sent Events', () => {
  it('listens to /events/{hash} and resolves when a status event says done', async () => {
    const t = setup(() => json({ status: 'pending' }));
    const job = followJob(HASH, t.options);
    const source = t.sources.opened[0]!;

    expect(source.url).toBe(`/events/${HASH}`);
    expect(t.modes).toEqual(['events']);
    source.emit(JSON.stringify({ status: 'pending', attempts: 1 }));
    source.emit(JSON.stringify({ status: 'done', url: `/image/${HASH}`, attempts: 2 }));

    await expect(job).resolves.toEqual({ status: 'done', url: `/image/${HASH}`, attempts: 2 });
    expect(t.statuses.map(([s, via]) => [s.status, via])).toEqual([
      ['pending', 'events'],
      ['done', 'events'],
    ]);
    expect(source.closed).toBe(true);
    expect(t.clock.timers).toEqual([]);
    expect(t.pollTimes()).toBe(0);
  });

  it('accepts unnamed events too', async () => {
    const t = setup(() => json({ status: 'pending' }));
    const job = followJob(HASH, t.options);
    t.sources.opened[0]!.emit(JSON.stringify({ status: 'done', url: '/image/x' }), 'message');

    await expect(job).resolves.toEqual({ status: 'done', url: '/image/x' });
  });

  it('resolves with the error when the job failed', async () => {
    const t = setup(() => json({ status: 'pending' }));
    const job = followJob(HASH, t.options);
    t.sources.opened[0]!.emit(JSON.stringify({ status: 'failed', error: 'undecodable image', attempts: 5 }));

    await expect(job).resolves.toEqual({ status: 'failed', error: 'undecodable image', attempts: 5 });
  });

  it('uses /image/{hash} when a done status carries no url', async () => {
    const t = setup(() => json({ status: 'pending' }));
    const job = followJob(HASH, t.options);
    t.sources.opened[0]!.emit(JSON.stringify({ status: 'done' }));

    await expect(job).resolves.toEqual({ status: 'done', url: `/image/${HASH}` });
  });

  it('ignores events that are not job statuses', async () => {
    const t = setup(() => json({ status: 'pending' }));
    const job = observe(followJob(HASH, t.options));
    const source = t.sources.opened[0]!;
    source.emit('not json');
    source.emit(JSON.stringify({ status: 'weird' }));
    await settle();

    expect(job.settled).toBe(false);
    expect(t.statuses).toEqual([]);
    source.emit(JSON.stringify({ status: 'done', url: '/image/x' }));
    await settle();
    expect(job.value).toEqual({ status: 'done', url: '/image/x' });
  });

  it('still checks /status now and then while events are live, in case an event was missed', async () => {
    let state: JobStatus = { status: 'pending' };
    const t = setup(() => json(state));
    const job = observe(followJob(HASH, t.options));

    await t.clock.advance(1999);
    expect(t.pollTimes()).toBe(0);
    await t.clock.advance(1);
    expect(t.pollTimes()).toBe(1);
    expect(job.settled).toBe(false);

    state = { status: 'done', url: `/image/${HASH}` };
    await t.clock.advance(2000);
    expect(job.value).toEqual({ status: 'done', url: `/image/${HASH}` });
    expect(t.sources.opened[0]!.closed).toBe(true);
  });
});

describe('followJob falling back to polling', () => {
  it('polls /status every 500 ms once the event stream errors', async () => {
    const answers: JobStatus[] = [{ status: 'pending' }, { status: 'pending', attempts: 1 }, { status: 'done', url: '/image/z' }];
    const t = setup(() => json(answers.shift() ?? { status: 'done', url: '/image/z' }));
    const job = observe(followJob(HASH, t.options));
    const source = t.sources.opened[0]!;

    source.fail();
    await settle();
    expect(source.closed).toBe(true);
    expect(t.modes).toEqual(['events', 'polling']);
    expect(t.pollTimes()).toBe(1);

    await t.clock.advance(499);
    expect(t.pollTimes()).toBe(1);
    await t.clock.advance(1);
    expect(t.pollTimes()).toBe(2);
    await t.clock.advance(500);
    expect(t.pollTimes()).toBe(3);

    expect(job.value).toEqual({ status: 'done', url: '/image/z' });
    expect(t.statuses.map(([s, via]) => [s.status, via])).toEqual([
      ['pending', 'polling'],
      ['pending', 'polling'],
      ['done', 'polling'],
    ]);
    expect(t.clock.timers).toEqual([]);
  });

  it('ignores events from a stream it gave up on', async () => {
    const t = setup(() => json({ status: 'pending' }));
    const job = observe(followJob(HASH, t.options));
    const source = t.sources.opened[0]!;
    source.fail();
    await settle();
    source.emit(JSON.stringify({ status: 'done', url: '/image/x' }));
    await settle();

    expect(job.settled).toBe(false);
  });

  it('polls from the start when EventSource is unavailable', async () => {
    const answers: JobStatus[] = [{ status: 'pending' }, { status: 'done', url: '/image/q' }];
    const t = setup(() => json(answers.shift()), { eventSource: false });
    const job = observe(followJob(HASH, t.options));
    await settle();

    expect(t.modes).toEqual(['polling']);
    expect(t.pollTimes()).toBe(1);
    expect(t.calls[0]?.init?.headers).toEqual({ Accept: 'application/json' });
    await t.clock.advance(500);
    expect(job.value).toEqual({ status: 'done', url: '/image/q' });
  });

  it('polls when opening the event stream throws', async () => {
    const t = setup(() => json({ status: 'done', url: '/image/q' }));
    const job = followJob(HASH, {
      ...t.options,
      createEventSource: () => {
        throw new Error('blocked');
      },
    });

    await expect(job).resolves.toEqual({ status: 'done', url: '/image/q' });
    expect(t.modes).toEqual(['polling']);
  });

  it('keeps polling through network errors and 5xx answers', async () => {
    const answers: (() => Response)[] = [
      () => {
        throw new TypeError('fetch failed');
      },
      () => json({ type: 'x', title: 'Service Unavailable', status: 503, detail: 'redis down' }, 503),
      () => new Response('not json', { status: 200, headers: { 'Content-Type': 'application/json' } }),
      () => json({ status: 'done', url: '/image/r' }),
    ];
    const t = setup(() => answers.shift()!(), { eventSource: false });
    const job = observe(followJob(HASH, t.options));

    await t.clock.advance(1500);
    expect(t.pollTimes()).toBe(4);
    expect(job.value).toEqual({ status: 'done', url: '/image/r' });
  });

  it('reports a job the server keeps not knowing as failed', async () => {
    const t = setup(() => json({ title: 'Not Found' }, 404), { eventSource: false });
    const job = observe(followJob(HASH, { ...t.options, maxNotFound: 3 }));

    await t.clock.advance(500);
    expect(job.settled).toBe(false);
    await t.clock.advance(500);
    expect(t.pollTimes()).toBe(3);
    expect(job.value).toMatchObject({ status: 'failed' });
    expect((job.value as { error: string }).error).toContain('404');
  });

  it('forgives a 404 that is followed by a real status', async () => {
    const answers: Response[] = [json({}, 404), json({}, 404), json({ status: 'pending' }), json({}, 404), json({}, 404)];
    const t = setup(() => answers.shift() ?? json({ status: 'done', url: '/image/s' }), { eventSource: false });
    const job = observe(followJob(HASH, { ...t.options, maxNotFound: 3 }));

    await t.clock.advance(2500);
    expect(job.value).toEqual({ status: 'done', url: '/image/s' });
  });
});

describe('followJob cancellation', () => {
  it('rejects with an AbortError, closes the stream and stops polling', async () => {
    const t = setup(() => json({ status: 'pending' }));
    const controller = new AbortController();
    const job = followJob(HASH, { ...t.options, signal: controller.signal });
    const source = t.sources.opened[0]!;

    controller.abort();
    await expect(job).rejects.toMatchObject({ name: 'AbortError' });
    expect(source.closed).toBe(true);
    expect(t.clock.timers).toEqual([]);
    await t.clock.advance(10_000);
    expect(t.pollTimes()).toBe(0);
  });

  it('rejects at once when already aborted', async () => {
    const t = setup(() => json({ status: 'pending' }));
    const controller = new AbortController();
    controller.abort();

    await expect(followJob(HASH, { ...t.options, signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(t.sources.opened).toEqual([]);
  });
});

describe('asJobStatus', () => {
  it('takes an answer with one of the contract’s states as the status view', () => {
    for (const answer of [
      { status: 'pending', attempts: 2 },
      { status: 'done', url: '/image/a' },
      { status: 'failed', error: 'x' },
    ]) {
      expect(asJobStatus(answer)).toBe(answer);
    }
  });

  it('refuses what is not a status', () => {
    expect(asJobStatus(null)).toBeNull();
    expect(asJobStatus('done')).toBeNull();
    expect(asJobStatus({ status: 'queued' })).toBeNull();
    expect(asJobStatus([{ status: 'done' }])).toBeNull();
    expect(asJobStatus({ status: 'toString' })).toBeNull();
  });
});
