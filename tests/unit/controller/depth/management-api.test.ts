/**
 * The management API depth source with a fake fetch: each failure says whether the API answered
 * and what, since that is what the Ready condition repeats. A queue declared a moment before is a
 * 404 until the broker's statistics catch up: an answer, not silence, and never a depth of zero.
 */
import { describe, expect, it } from 'vitest';
import { QueueNotFoundError } from '../../../../src/controller/depth/depth-source.js';
import { ManagementApiDepth } from '../../../../src/controller/depth/management-api.js';

const ref = { vhost: 'team-a', queue: 'jobs' };

function answering(status: number, body: unknown = {}): { fetch: typeof fetch; urls: string[]; headers: Headers[] } {
  const urls: string[] = [];
  const headers: Headers[] = [];
  const fake: typeof fetch = async (input, init) => {
    urls.push(input instanceof Request ? input.url : input.toString());
    headers.push(new Headers(init?.headers));
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
  return { fetch: fake, urls, headers };
}

describe('ManagementApiDepth', () => {
  it('reads ready and unacked of the queue, with the URL credentials as basic auth', async () => {
    const api = answering(200, { messages_ready: 4, messages_unacknowledged: 2, consumers: 1 });
    const depth = new ManagementApiDepth({ url: 'http://user:p%40ss@rabbit:15672/', fetch: api.fetch });
    expect(await depth.read(ref)).toEqual({ ready: 4, unacked: 2, consumers: 1, source: 'management API' });
    expect(api.urls[0]).toBe('http://rabbit:15672/api/queues/team-a/jobs');
    expect(api.headers.every((h) => h.get('authorization') === `Basic ${Buffer.from('user:p@ss').toString('base64')}`)).toBe(true);
  });

  it("counts the messages of the queue's retry delay queues, listed by name, as retrying", async () => {
    const urls: string[] = [];
    const fake: typeof fetch = async (input) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      urls.push(url.toString());
      const body = url.pathname.endsWith('/jobs') ? { messages_ready: 4, messages_unacknowledged: 0 } : { items: [{ messages: 7 }, { messages: 5 }] };
      return new Response(JSON.stringify(body), { status: 200 });
    };
    const depth = new ManagementApiDepth({ url: 'http://rabbit:15672', fetch: fake });
    expect(await depth.read(ref)).toMatchObject({ ready: 4, unacked: 0, retrying: 12 });
    const list = new URL(urls.find((u) => !u.includes('/jobs'))!);
    expect(list.pathname).toBe('/api/queues/team-a');
    expect(list.searchParams.get('name')).toBe('^jobs\\.delay\\.\\d+ms$');
    expect(list.searchParams.get('use_regex')).toBe('true');
  });

  it('says it answered 404 for a queue its statistics do not know yet', async () => {
    const depth = new ManagementApiDepth({ url: 'http://rabbit:15672', fetch: answering(404, { error: 'Object Not Found' }).fetch });
    const read = depth.read(ref);
    await expect(read).rejects.toBeInstanceOf(QueueNotFoundError);
    await expect(read).rejects.toThrow(
      'the management API answered 404 for queue "jobs" in vhost "team-a": its statistics may not have caught up yet, or the queue does not exist',
    );
  });

  it('says what status it answered otherwise', async () => {
    const depth = new ManagementApiDepth({ url: 'http://rabbit:15672', fetch: answering(503).fetch });
    await expect(depth.read(ref)).rejects.toThrow('the management API answered 503 for queue "jobs" in vhost "team-a"');
  });

  it('treats an answer without counts as not known, not as zero', async () => {
    const depth = new ManagementApiDepth({ url: 'http://rabbit:15672', fetch: answering(200, { consumers: 0 }).fetch });
    await expect(depth.read(ref)).rejects.toThrow(/answered for queue "jobs" in vhost "team-a" without message counts/);
  });

  it('refuses an answer that is not a queue’s statistics rather than read numbers from it', async () => {
    const depth = new ManagementApiDepth({ url: 'http://rabbit:15672', fetch: answering(200, { messages_ready: 'many', messages_unacknowledged: -1 }).fetch });
    await expect(depth.read(ref)).rejects.toThrow(/answered for queue "jobs" in vhost "team-a" with something that is not a queue's statistics/);
  });

  it('says it did not answer when the request fails, with the network error', async () => {
    const refused: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:15672') });
    };
    const depth = new ManagementApiDepth({ url: 'http://rabbit:15672', fetch: refused });
    await expect(depth.read(ref)).rejects.toThrow(
      'the management API did not answer for queue "jobs" in vhost "team-a" (fetch failed: connect ECONNREFUSED 127.0.0.1:15672)',
    );
  });

  it('names its timeout when no answer came in time', async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error)));
    const depth = new ManagementApiDepth({ url: 'http://rabbit:15672', timeoutMs: 20, fetch: hanging });
    await expect(depth.read(ref)).rejects.toThrow('(no answer within 20 ms)');
  });
});
