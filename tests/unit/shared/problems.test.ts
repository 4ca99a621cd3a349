/** The problem catalogue: one slug per type, public URIs built one way, titles from the status. */
import { describe, expect, it } from 'vitest';
import { PROBLEMS, PROBLEM_TYPE_BASE, problemDocumentSchema } from '../../../src/shared/contracts/problems.js';
import { HttpProblem } from '../../../src/shared/http/problem.js';

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
