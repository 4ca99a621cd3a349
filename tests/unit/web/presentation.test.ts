import { describe, expect, it } from 'vitest';
import { downloadName, formatElapsed, formatKilobytes, formatWaiting, shortHash } from '../../../src/web/src/format.js';
import { pushRecent } from '../../../src/web/src/history.js';
import { followDetail, isBusy, QUEUED_MESSAGE, statusMessage } from '../../../src/web/src/view-state.js';

describe('format', () => {
  it('writes elapsed time in whole milliseconds', () => {
    expect(formatElapsed(123.6)).toBe('124 ms');
    expect(formatElapsed(15_000)).toBe('15000 ms');
  });

  it('writes sizes in KB', () => {
    expect(formatKilobytes(512)).toBe('0.5 KB');
    expect(formatKilobytes(10 * 1024)).toBe('10.0 KB');
    expect(formatKilobytes(250 * 1024 + 300)).toBe('250 KB');
  });

  it('shortens hashes to ten hex digits', () => {
    expect(shortHash('0123456789abcdef'.repeat(4))).toBe('0123456789');
    expect(shortHash('abc')).toBe('abc');
  });

  it('writes waiting time as m:ss', () => {
    expect(formatWaiting(0)).toBe('0:00');
    expect(formatWaiting(65_400)).toBe('1:05');
  });

  it('names downloads after the original with the result type extension', () => {
    expect(downloadName('holiday.heic', 'image/jpeg')).toBe('holiday-watermarked.jpg');
    expect(downloadName('C:\\pics\\cat.png', 'image/webp; charset=binary')).toBe('cat-watermarked.webp');
    expect(downloadName('', 'application/octet-stream')).toBe('image-watermarked.img');
    expect(downloadName('scan.tif', 'application/octet-stream')).toBe('scan-watermarked.tif');
  });
});

describe('pushRecent', () => {
  it('puts the newest first and returns what fell off', () => {
    const list = [{ id: 3 }, { id: 2 }, { id: 1 }];
    const { list: next, dropped } = pushRecent(list, { id: 4 }, 3);

    expect(next.map((e) => e.id)).toEqual([4, 3, 2]);
    expect(dropped.map((e) => e.id)).toEqual([1]);
    expect(list.map((e) => e.id)).toEqual([3, 2, 1]);
  });

  it('replaces an older entry of the same result, and returns it to be released', () => {
    const entry = (id: number, resultId: string | null) => ({ id, resultId });
    const same = (a: { id: number; resultId: string | null }, b: { id: number; resultId: string | null }) => a.resultId !== null && a.resultId === b.resultId;
    const { list, dropped } = pushRecent([entry(2, 'r2'), entry(1, 'r1'), entry(0, null)], entry(3, 'r1'), 8, same);

    expect(list.map((e) => e.id)).toEqual([3, 2, 0]);
    expect(dropped.map((e) => e.id)).toEqual([1]);
  });
});

describe('view state', () => {
  it('says the job is queued in RabbitMQ while pending', () => {
    expect(statusMessage({ state: 'queued', fileName: 'a.jpg', jobId: 'h', mode: 'events' })).toBe(QUEUED_MESSAGE);
    expect(QUEUED_MESSAGE).toBe('Optimizer unavailable — queued in RabbitMQ, waiting for a worker…');
  });

  it('says how a result was made', () => {
    const done = { state: 'done', entryId: 1, elapsedMs: 42.2 } as const;
    expect(statusMessage({ ...done, cacheHit: true, viaRabbit: false })).toBe('Done from cache in 42 ms.');
    expect(statusMessage({ ...done, cacheHit: false, viaRabbit: true })).toBe('Done through RabbitMQ in 42 ms.');
    expect(statusMessage({ ...done, cacheHit: false, viaRabbit: false })).toBe('Done in 42 ms.');
  });

  it('names the problem or the failed job', () => {
    expect(statusMessage({ state: 'error', title: 'Content Too Large', detail: 'x' })).toBe('Upload failed: Content Too Large.');
    expect(statusMessage({ state: 'error', title: 'The job failed', detail: 'x', jobId: 'h' })).toBe('The job failed.');
  });

  it('is busy only while uploading or following', () => {
    expect(isBusy({ state: 'uploading', fileName: 'a' })).toBe(true);
    expect(isBusy({ state: 'fetching', fileName: 'a', jobId: 'h' })).toBe(true);
    expect(isBusy({ state: 'idle' })).toBe(false);
  });

  it('describes how a pending job is followed', () => {
    expect(followDetail('events', undefined)).toBe('Live updates from the server');
    expect(followDetail('polling', 3)).toBe('Checking every 0.5 s · attempt 3');
    expect(followDetail(null, 0)).toBe('Connecting…');
  });
});
