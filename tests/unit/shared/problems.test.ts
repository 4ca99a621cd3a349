/** The problem catalogue: one slug per type, public URIs built one way, titles from the status. */
import { describe, expect, it } from 'vitest';
import { PROBLEMS, PROBLEM_TYPE_BASE, problemDocumentSchema } from '../../../src/shared/contracts/problems.js';
import type { Response } from 'express';
import { HttpProblem, sendProblem } from '../../../src/shared/http/problem.js';

const types = Object.values(PROBLEMS);

describe('PROBLEMS', () => {
  it('names every type once', () => {
    const slugs = types.map((type) => type.slug);
    expect(new Set(slugs).size).toBe(slugs.length);
    expect(slugs.every((slug) => /^[a-z]+(-[a-z]+)*$/.test(slug))).toBe(true);
  });

  it('builds each type URI from the base and the slug', () => {
    for (const type of types) expect(type.uri).toBe(`${PROBLEM_TYPE_BASE}${type.slug}`);
  });

  it('keeps the slugs clients already know', () => {
    expect(PROBLEMS.undecodable).toMatchObject({ slug: 'undecodable', status: 422, title: 'Unprocessable Content' });
    expect(PROBLEMS.tooLarge).toMatchObject({ slug: 'too-large', status: 413, title: 'Content Too Large' });
    expect(PROBLEMS.unconfirmed).toMatchObject({ slug: 'unconfirmed', status: 503 });
    expect(PROBLEMS.unavailable).toMatchObject({ slug: 'unavailable', status: 503 });
  });
});

/** The part of an express Response that sendProblem uses, recording what it was told. */
function fakeResponse(requestComplete: boolean) {
  const sent = { headers: {} as Record<string, string>, status: 0, type: '', body: '' };
  const res = {
    headersSent: false,
    req: { complete: requestComplete },
    setHeader: (name: string, value: string) => void (sent.headers[name] = value),
    status: (status: number) => ((sent.status = status), res),
    type: (type: string) => ((sent.type = type), res),
    send: (body: string) => void (sent.body = body),
  };
  // Only these members are used; a whole express Response would need a server.
  return { res: res as unknown as Response, sent };
}

describe('sendProblem', () => {
  it('answers problem+json with Retry-After when the problem has one', () => {
    const { res, sent } = fakeResponse(true);
    sendProblem(res, new HttpProblem(PROBLEMS.saturated, 'busy', { retryAfterSeconds: 1 }));
    expect(sent).toMatchObject({ status: 503, type: 'application/problem+json', headers: { 'Retry-After': '1' } });
    expect(JSON.parse(sent.body)).toMatchObject({ type: PROBLEMS.saturated.uri, detail: 'busy' });
  });

  it('keeps the connection of a problem that left the body unread: the body lingers instead (lingering-close.test.ts)', () => {
    const complete = fakeResponse(true);
    sendProblem(complete.res, new HttpProblem(PROBLEMS.tooLarge, 'too large').leavingBodyUnread());
    expect(complete.sent).toMatchObject({ status: 413, headers: {} });
  });
});

describe('HttpProblem', () => {
  it('renders a document the schema accepts, with its extensions', () => {
    const document = new HttpProblem(PROBLEMS.tooLarge, 'The upload exceeds the limit of 10 bytes', { extensions: { maxBytes: 10 } }).toProblem();
    expect(problemDocumentSchema.parse(document)).toEqual({
      type: 'https://nws-watermark.dev/problems/too-large',
      title: 'Content Too Large',
      status: 413,
      detail: 'The upload exceeds the limit of 10 bytes',
      maxBytes: 10,
    });
  });
});
