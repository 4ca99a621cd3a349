/**
 * `/events/{hash}`: Server-Sent Events fed by the watermark.events exchange follow a queued job
 * to done and close; a finished job gets its final state at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, upload, type Harness } from '../helpers/harness.js';
import { makeJpeg } from '../helpers/images.js';

let h: Harness;
let api: string;

beforeAll(async () => {
  h = await createHarness('events');
  api = (await h.startApi()).url;
});
afterAll(async () => h?.cleanup());

/** Reads an SSE stream to its end (the server closes it at done/failed) and returns the status events. */
async function readEvents(url: string, onFirst?: () => void | Promise<void>): Promise<{ status: string; url?: string }[]> {
  const res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const decoder = new TextDecoder();
  const events: { status: string; url?: string }[] = [];
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary: number;
    while ((boundary = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const data = block.split('\n').find((line) => line.startsWith('data: '));
      if (block.includes('event: status') && data) {
        events.push(JSON.parse(data.slice(6)) as (typeof events)[number]);
        if (events.length === 1) await onFirst?.();
      }
    }
  }
  return events;
}

describe('job events', () => {
  it('streams pending, then done, then closes, for a job that goes through the fallback', async () => {
    const res = await upload(api, await makeJpeg(200));
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const events = await readEvents(`${api}/events/${jobId}`, async () => {
      await h.startOptimizer();
      await h.startWorker();
    });
    expect(events[0]).toMatchObject({ status: 'pending' });
    expect(events.at(-1)).toEqual({ status: 'done', url: `/image/${jobId}`, attempts: 1 });
  });

  it('sends the final state at once and closes for a finished job', async () => {
    const res = await upload(api, await makeJpeg(201));
    expect(res.status).toBe(200);
    const id = res.headers.get('x-result-id')!;
    const events = await readEvents(`${api}/events/${id}`);
    expect(events).toEqual([{ status: 'done', url: `/image/${id}`, attempts: 0 }]);
  });
});
