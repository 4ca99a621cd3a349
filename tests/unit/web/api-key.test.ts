import { describe, expect, it } from 'vitest';
import { followJob } from '../../../src/web/src/follow-job.js';
import {
  API_KEY_STORAGE_ITEM,
  followDepsWithKey,
  forgetApiKey,
  normalizeApiKey,
  rememberApiKey,
  storedApiKey,
  withApiKey,
  type KeyStorage,
} from '../../../src/web/src/api-key.js';
import { FakeEventSource, fakeFetch, json } from './fakes.js';

/** Session storage as a Map; `refuse` makes every call throw, as a browser with storage disabled does. */
function fakeStorage(refuse = false): KeyStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  const guard = () => {
    if (refuse) throw new DOMException('storage is disabled', 'SecurityError');
  };
  return {
    items,
    getItem: (name) => (guard(), items.get(name) ?? null),
    setItem: (name, value) => (guard(), void items.set(name, value)),
    removeItem: (name) => (guard(), void items.delete(name)),
  };
}

describe('normalizeApiKey', () => {
  it('trims a typed key and drops a pasted "Bearer " prefix', () => {
    expect(normalizeApiKey('  k1\n')).toBe('k1');
    expect(normalizeApiKey('Bearer ops:s3cr3t')).toBe('ops:s3cr3t');
  });

  it('refuses what no header can carry', () => {
    for (const bad of ['', '   ', 'two words', 'clé', 'tab\there']) expect(normalizeApiKey(bad), bad).toBeNull();
  });
});

describe('the kept key', () => {
  it('is remembered, read back and forgotten in session storage', () => {
    const storage = fakeStorage();
    expect(storedApiKey(storage)).toBeNull();
    rememberApiKey(storage, 'k1');
    expect(storage.items.get(API_KEY_STORAGE_ITEM)).toBe('k1');
    expect(storedApiKey(storage)).toBe('k1');
    forgetApiKey(storage);
    expect(storedApiKey(storage)).toBeNull();
  });

  it('ignores a stored value no header could carry', () => {
    const storage = fakeStorage();
    storage.items.set(API_KEY_STORAGE_ITEM, 'not a key');
    expect(storedApiKey(storage)).toBeNull();
  });

  it('never throws where storage is refused, or missing', () => {
    const refused = fakeStorage(true);
    expect(() => rememberApiKey(refused, 'k1')).not.toThrow();
    expect(storedApiKey(refused)).toBeNull();
    expect(() => forgetApiKey(refused)).not.toThrow();
    expect(storedApiKey(null)).toBeNull();
  });
});

describe('withApiKey', () => {
  it('adds the bearer header to every request, keeping the headers it had', async () => {
    const { fetch, calls } = fakeFetch(() => json({}));
    await withApiKey(fetch, 'k1')('/status/x', { headers: { Accept: 'application/json' }, cache: 'no-store' });
    const headers = new Headers(calls[0]?.init?.headers);
    expect(headers.get('authorization')).toBe('Bearer k1');
    expect(headers.get('accept')).toBe('application/json');
    expect(calls[0]?.init?.cache).toBe('no-store');
  });

  it('is fetch itself without a key', () => {
    const { fetch } = fakeFetch(() => json({}));
    expect(withApiKey(fetch, null)).toBe(fetch);
  });
});

describe('followDepsWithKey', () => {
  it('follows a job by polling /status with the key, never by EventSource, which cannot send it', async () => {
    const { fetch, calls } = fakeFetch(() => json({ status: 'done', url: '/image/abc' }));
    const opened: string[] = [];
    const deps = {
      createEventSource: (url: string) => (opened.push(url), new FakeEventSource(url)),
      fetch,
      setTimeout: (callback: () => void) => (callback(), 0),
      clearTimeout: () => undefined,
    };
    const job = await followJob('abc', followDepsWithKey(deps, 'k1'));
    expect(job).toMatchObject({ status: 'done', url: '/image/abc' });
    expect(opened).toEqual([]);
    expect(new Headers(calls[0]?.init?.headers).get('authorization')).toBe('Bearer k1');
    expect(followDepsWithKey(deps, null)).toBe(deps);
  });
});
