/** Stand-ins for the browser APIs the web page's logic takes as parameters. */
import type { WatermarkSettings } from '../../../src/shared/contracts/watermark-settings.js';
import type { EventSourceLike } from '../../../src/web/src/follow-job.js';
import { DEFAULT_SETTINGS } from '../../helpers/watermark.js';

export interface FetchCall {
  url: string;
  init: RequestInit | undefined;
}

export type Route = (url: string, init: RequestInit | undefined) => Response | Promise<Response>;

/** A fetch that answers from `route` and records every call. */
export function fakeFetch(route: Route) {
  const calls: FetchCall[] = [];
  const fetch = async (url: string, init?: RequestInit): Promise<Response> => {
    calls.push({ url, init });
    if (init?.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    return route(url, init);
  };
  return { fetch, calls };
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  });
}

export function problem(status: number, title: string, detail: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ type: `https://nws-watermark.dev/problems/x`, title, status, detail }), {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
  });
}

export function image(bytes: number[], headers: Record<string, string> = {}): Response {
  return new Response(new Uint8Array(bytes), { status: 200, headers: { 'Content-Type': 'image/webp', ...headers } });
}

export class FakeEventSource implements EventSourceLike {
  closed = false;
  private readonly listeners = new Map<string, ((event: Event) => void)[]>();

  constructor(readonly url: string) {}

  addEventListener(type: string, listener: (event: Event) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
  }

  /** Delivers a server event (`status` unless told), as the browser would. */
  emit(data: string, type = 'status'): void {
    for (const listener of this.listeners.get(type) ?? []) listener(new MessageEvent(type, { data }));
  }

  fail(): void {
    for (const listener of this.listeners.get('error') ?? []) listener(new Event('error'));
  }
}

export function fakeEventSources() {
  const opened: FakeEventSource[] = [];
  const create = (url: string): FakeEventSource => {
    const source = new FakeEventSource(url);
    opened.push(source);
    return source;
  };
  return { create, opened };
}

/** A manual clock for injected setTimeout/clearTimeout. */
export class FakeClock {
  now = 0;
  private nextHandle = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  readonly setTimeout = (callback: () => void, ms: number): unknown => {
    const handle = this.nextHandle++;
    this.pending.set(handle, { at: this.now + ms, callback });
    return handle;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };

  get timers(): number[] {
    return [...this.pending.values()].map((timer) => timer.at - this.now);
  }

  /** Moves time forward, running each due timer and letting its promises settle. */
  async advance(ms: number): Promise<void> {
    const until = this.now + ms;
    await settle();
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      const [handle, timer] = due;
      this.pending.delete(handle);
      this.now = timer.at;
      timer.callback();
      await settle();
    }
    this.now = until;
  }
}

/** Lets pending promise chains (fetch → json → …) run to completion. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Effective settings as the api reports them: `default`'s, with `overrides`. */
export function watermarkSettings(overrides: Partial<WatermarkSettings> = {}): WatermarkSettings {
  return { ...DEFAULT_SETTINGS, ...overrides };
}
