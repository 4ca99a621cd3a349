/** The rendition a query asks for: sizes on the operator's list, a format, and a 400 naming every bad parameter. */
import { describe, expect, it } from 'vitest';
import { renditionKey, renditionName, renditionSpec } from '../../../src/api/renditions.js';
import { HttpProblem } from '../../../src/shared/http/problem.js';

const sizes = [320, 640, 1280];
const spec = (query: [string, string][], accept?: string) => renditionSpec(query, sizes, accept);

describe('renditionSpec', () => {
  it('is the result itself without rendition parameters, signed-URL parameters aside', () => {
    expect(spec([])).toBeUndefined();
    expect(
      spec([
        ['expires', '1'],
        ['sig', 'x'],
      ]),
    ).toBeUndefined();
  });

  it('takes listed widths and heights and a format', () => {
    expect(spec([['w', '640']])).toEqual({ width: 640, height: 0, format: undefined, negotiated: false });
    expect(
      spec([
        ['w', '320'],
        ['h', '1280'],
        ['format', 'webp'],
      ]),
    ).toEqual({ width: 320, height: 1280, format: 'webp', negotiated: false });
  });

  it('negotiates format=auto, keeping the result’s format for a client that names no modern one', () => {
    expect(
      spec(
        [
          ['w', '640'],
          ['format', 'auto'],
        ],
        'image/avif,image/webp',
      ),
    ).toMatchObject({ format: 'avif', negotiated: true });
    expect(
      spec(
        [
          ['w', '640'],
          ['format', 'auto'],
        ],
        '*/*',
      ),
    ).toMatchObject({ format: undefined, negotiated: true });
  });

  it('refuses sizes off the list, other formats and other parameters, all in one 400', () => {
    let problem: unknown;
    try {
      spec([
        ['w', '641'],
        ['h', '-1'],
        ['format', 'gif'],
        ['crop', '1'],
        ['w', '320'],
      ]);
    } catch (err) {
      problem = err;
    }
    expect(problem).toBeInstanceOf(HttpProblem);
    const { status, message, type } = problem as HttpProblem;
    expect({ status, slug: type.slug }).toEqual({ status: 400, slug: 'bad-rendition' });
    expect(message).toContain('w: expected one of 320, 640, 1280, received "641"');
    expect(message).toContain('h: expected one of 320, 640, 1280, received "-1"');
    expect(message).toContain('format: expected one of jpeg, png, webp, avif, auto, received "gif"');
    expect(message).toContain('crop: expected one of w, h, format');
    expect(message).toContain('w: expected one value');
  });

  it('names a rendition the same way in Redis and the store', () => {
    const webp640 = { width: 640, height: 0, format: 'webp' as const, negotiated: false };
    expect(renditionName(webp640)).toBe('w640-h0-webp');
    expect(renditionKey('a'.repeat(64), webp640)).toBe(`renditions/${'a'.repeat(64)}/w640-h0-webp`);
  });
});
