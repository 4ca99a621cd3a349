/**
 * Replays the regression corpus (tests/regressions/README.md): every input that once made a
 * reader crash, hang or answer wrongly, with the answer it must have now.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readMultipartFile } from '../../src/shared/http/multipart.js';
import { HttpProblem } from '../../src/shared/http/problem.js';
import { FakeRequest, eventLoopTurns } from './shared/multipart-fakes.js';

const CORPUS = fileURLToPath(new URL('../regressions', import.meta.url));

interface MultipartCase {
  description: string;
  fixedBy: string;
  headers: Record<string, string>;
  body?: string;
  bodyBase64?: string;
  expect: { problem: string } | { fileText: string };
}

function cases<T>(folder: string): [string, T][] {
  return readdirSync(join(CORPUS, folder))
    .filter((file) => file.endsWith('.json'))
    .map((file) => [file, JSON.parse(readFileSync(join(CORPUS, folder, file), 'utf8')) as T]);
}

describe('regression corpus: multipart', () => {
  const uncaught: unknown[] = [];
  it.each(cases<MultipartCase>('multipart'))('%s', async (_file, input) => {
    expect(input.description.length, 'says what once failed').toBeGreaterThan(20);
    const body = input.bodyBase64 === undefined ? Buffer.from(input.body ?? '', 'latin1') : Buffer.from(input.bodyBase64, 'base64');
    const record = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', record);
    try {
      const outcome = await readMultipartFile(new FakeRequest(input.headers, [body]), { fieldName: 'image', maxBytes: 512, unreadBody: 'linger' }).then(
        (file) => ({ fileText: file.data.toString('latin1') }),
        (err: unknown) => ({ problem: err instanceof HttpProblem ? err.type.slug : `not a problem: ${String(err)}` }),
      );
      await eventLoopTurns();
      expect(outcome).toEqual(input.expect);
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
    }
  });
});
