/**
 * The page shares the contracts' types, never their code: a value import from src/shared would
 * put zod (and Node modules) into the browser bundle. The build would not fail; this test does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const WEB_SRC = fileURLToPath(new URL('../../../src/web/src', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

describe('web imports from src/shared', () => {
  it('are type-only', () => {
    const valueImports = sources(WEB_SRC).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^import\s+(?!type\s)[^;]*from\s+'[./]*\/shared\/[^']*';/gms)].map((m) => `${file}: ${m[0]}`),
    );
    expect(valueImports).toEqual([]);
  });

  it('include the status view’s types', () => {
    const follow = readFileSync(join(WEB_SRC, 'follow-job.ts'), 'utf8');
    expect(follow).toMatch(/^import type \{[^}]*JobStatus[^}]*\} from '\.\.\/\.\.\/shared\/contracts\/index\.js';$/m);
  });
});
