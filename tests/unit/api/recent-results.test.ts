/**
 * RecentResults over an in-memory shared cache: what it answers without the shared cache, what it
 * keeps of what it reads (and does not keep of what it is given), and the byte budget it holds to.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { RecentResults, withRecentResults } from '../../../src/api/recent-results.js';
import { MemoryResultCache } from '../fakes/state.js';

const image = (bytes: number, fill = 1) => ({ data: Buffer.alloc(bytes, fill), contentType: 'image/jpeg' });

let shared: MemoryResultCache;

beforeEach(() => {
  shared = new MemoryResultCache();
});

/** Reads each id once through `recent`, so that it holds them. */
async function readAll(recent: RecentResults, ...ids: string[]): Promise<void> {
  for (const id of ids) await recent.get(id);
}

describe('RecentResults', () => {
  it('answers a result it has read from memory, asking the shared cache once, even while it is down', async () => {
    shared.results.set('a', image(10_000));
    const recent = new RecentResults(shared, 1_000_000);
    const read = vi.spyOn(shared, 'get');
    await recent.get('a');
    shared.fail('*');
    expect((await recent.get('a'))?.data.length).toBe(10_000);
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('passes a new result to the shared cache without keeping it: it enters once asked for', async () => {
    const recent = new RecentResults(shared, 1_000_000);
    await recent.set('a', image(10_000));
    expect(shared.results.has('a')).toBe(true);
    const read = vi.spyOn(shared, 'get');
    await recent.get('a');
    await recent.get('a');
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('remembers no miss: a result made later is found', async () => {
    const recent = new RecentResults(shared, 1_000_000);
    expect(await recent.get('a')).toBeUndefined();
    shared.results.set('a', image(10_000));
    expect(await recent.get('a')).toBeDefined();
  });

  it('holds to its byte budget, least recently used out first', async () => {
    for (const id of ['a', 'b', 'c']) shared.results.set(id, image(10_000));
    const recent = new RecentResults(shared, 25_000);
    await readAll(recent, 'a', 'b', 'a', 'c');
    shared.fail('*');
    expect(await recent.get('a')).toBeDefined();
    expect(await recent.get('c')).toBeDefined();
    await expect(recent.get('b')).rejects.toThrow();
  });

  it('keeps a result larger than its whole budget in the shared cache only', async () => {
    shared.results.set('big', image(10_000));
    const recent = new RecentResults(shared, 5_000);
    await readAll(recent, 'big');
    shared.fail('*');
    await expect(recent.get('big')).rejects.toThrow();
  });

  it('counts the memory a small view keeps alive, not only its length', async () => {
    const socketRead = Buffer.alloc(64 * 1024);
    shared.results.set('view', { data: socketRead.subarray(0, 100), contentType: 'image/png' });
    const recent = new RecentResults(shared, 50_000);
    await readAll(recent, 'view');
    shared.fail('*');
    await expect(recent.get('view')).rejects.toThrow();
  });
});

describe('withRecentResults', () => {
  it('is the shared cache itself with a budget of 0', () => {
    expect(withRecentResults(shared, 0)).toBe(shared);
    expect(withRecentResults(shared, 1)).toBeInstanceOf(RecentResults);
  });
});
