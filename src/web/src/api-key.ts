/**
 * The API key the page sends when the api asks for one (README "API keys"). It is kept in session
 * storage: it survives a reload, not the tab, and is never put in a URL. `EventSource` cannot send
 * a header, so with a key the page follows a queued job by polling `/status` (fetch can send one).
 */
import type { FollowDeps } from './follow-job.js';
import type { FetchLike } from './upload-client.js';

/** The part of `Storage` the page uses; `null` where the browser refuses storage. */
export type KeyStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export const API_KEY_STORAGE_ITEM = 'nws-watermark:api-key';

/** What a header value may hold: visible ASCII, no spaces. */
const TOKEN = /^[\x21-\x7e]+$/;

/**
 * The key as typed or pasted, ready for `Authorization: Bearer`: trimmed, a pasted "Bearer " prefix
 * dropped; `null` when nothing usable is left (empty, or characters no header can carry).
 */
export function normalizeApiKey(input: string): string | null {
  const key = input.trim().replace(/^Bearer\s+/i, '');
  return TOKEN.test(key) ? key : null;
}

/** The browser's session storage, or `null` where reading it throws (storage disabled, sandboxed frames). */
export function sessionKeyStorage(): KeyStorage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function storedApiKey(storage: KeyStorage | null): string | null {
  try {
    const stored = storage?.getItem(API_KEY_STORAGE_ITEM);
    return stored == null ? null : normalizeApiKey(stored);
  } catch {
    return null;
  }
}

export function rememberApiKey(storage: KeyStorage | null, key: string): void {
  try {
    storage?.setItem(API_KEY_STORAGE_ITEM, key);
  } catch {
    // Full or refused: the key still works for this page's life, it is just not kept.
  }
}

export function forgetApiKey(storage: KeyStorage | null): void {
  try {
    storage?.removeItem(API_KEY_STORAGE_ITEM);
  } catch {
    // Nothing was kept.
  }
}

/** `fetch` with `Authorization: Bearer <key>` added to every request; `fetch` itself without a key. */
export function withApiKey(fetch: FetchLike, key: string | null): FetchLike {
  if (key === null) return fetch;
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${key}`);
    return fetch(input, { ...init, headers });
  };
}

/** How a queued job is followed with `key`: by polling with the key, as EventSource cannot send it. */
export function followDepsWithKey(deps: FollowDeps, key: string | null): FollowDeps {
  return key === null ? deps : { ...deps, fetch: withApiKey(deps.fetch, key), createEventSource: null };
}
