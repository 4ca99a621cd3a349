import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bearerToken, checkUnique, findKey, keysFromDocument, keysFromList, mayUsePreset } from '../../../../src/api/access/api-keys.js';
import { ConfigError } from '../../../../src/shared/config.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('keysFromList (API_KEYS)', () => {
  it('takes bare secrets and id:secret items, and names a bare secret after its digest', () => {
    const keys = keysFromList('k1, ci:s3cr3t-token ,');
    expect(keys.map((k) => k.id)).toEqual([`key-${sha256('k1').slice(0, 8)}`, 'ci']);
    expect(findKey(keys, 's3cr3t-token')?.id).toBe('ci');
    expect(findKey(keys, 'k1')).toBe(keys[0]);
  });

  it('is empty for an empty variable: the api is open', () => {
    expect(keysFromList('')).toEqual([]);
    expect(keysFromList(' , ')).toEqual([]);
  });

  it('refuses a secret a Bearer header cannot carry, naming the item but not the secret', () => {
    const problems = problemsOf(() => keysFromList('good,bad secret'));
    expect(problems).toEqual(['API_KEYS: item 2: the secret must be Bearer token characters (letters, digits, -._~+/ and trailing =)']);
    expect(problems.join()).not.toContain('bad secret');
  });

  it('refuses the same id or the same secret twice', () => {
    expect(problemsOf(() => checkUnique(keysFromList('a:one,a:two'), 'API_KEYS'))).toEqual(['API_KEYS: the id "a" is used twice']);
    expect(problemsOf(() => checkUnique(keysFromList('a:same,b:same'), 'API_KEYS'))).toEqual(['API_KEYS: the key "b" has the same secret as another key']);
  });
});

describe('keysFromDocument (API_KEYS_FILE)', () => {
  const secret = 'a-long-enough-secret-1';

  it('reads a list or { keys: [...] }, with secrets or only their SHA-256, and allowed presets', () => {
    const doc = [
      { id: 'web', secret },
      { id: 'batch', sha256: sha256('batch-secret-0123456'), presets: ['thumbs'] },
    ];
    for (const keys of [keysFromDocument(doc, 'f'), keysFromDocument({ keys: doc }, 'f')]) {
      expect(findKey(keys, secret)?.id).toBe('web');
      const batch = findKey(keys, 'batch-secret-0123456');
      expect(batch?.id).toBe('batch');
      expect(batch && mayUsePreset(batch, 'thumbs')).toBe(true);
      expect(batch && mayUsePreset(batch, 'default')).toBe(false);
      expect(mayUsePreset(keys[0]!, 'anything')).toBe(true);
    }
  });

  it('names every bad field with what was expected, and never echoes a secret', () => {
    const problems = problemsOf(() =>
      keysFromDocument(
        [
          { id: 'short', secret: 'tiny' },
          { id: 'both', secret, sha256: sha256(secret) },
          { id: 'has space', sha256: 'XYZ' },
          { id: 'extra', secret, role: 'admin' },
        ],
        'API_KEYS_FILE (keys.yaml)',
      ),
    );
    expect(problems).toEqual([
      'API_KEYS_FILE (keys.yaml): keys[0].secret: expected a secret of at least 16 characters',
      'API_KEYS_FILE (keys.yaml): keys[1]: expected exactly one of "secret" or "sha256"',
      'API_KEYS_FILE (keys.yaml): keys[2].id: expected a token of 1 to 64 letters, digits, ".", "_" or "-"',
      'API_KEYS_FILE (keys.yaml): keys[2].sha256: expected 64 lowercase hexadecimal characters',
      expect.stringMatching(/^API_KEYS_FILE \(keys\.yaml\): keys\[3\]: expected .*role/),
    ]);
    expect(problems.join()).not.toContain('tiny');
  });

  it('refuses a document that is not a list of keys', () => {
    expect(problemsOf(() => keysFromDocument('k1,k2', 'f'))[0]).toMatch(/^f: the document: expected/);
    expect(problemsOf(() => keysFromDocument(null, 'f'))[0]).toMatch(/^f: the document: expected/);
  });
});

describe('findKey', () => {
  const keys = keysFromList('a:first-secret,b:second-secret');

  it('finds the key of a secret and nothing for any other string', () => {
    expect(findKey(keys, 'second-secret')?.id).toBe('b');
    fc.assert(
      fc.property(fc.string(), (presented) => {
        const found = findKey(keys, presented);
        return presented === 'first-secret' || presented === 'second-secret' ? found !== undefined : found === undefined;
      }),
    );
  });
});

describe('bearerToken', () => {
  it('reads RFC 6750 credentials, the scheme in any case', () => {
    expect(bearerToken('Bearer abc.DEF-1~+/==')).toBe('abc.DEF-1~+/==');
    expect(bearerToken('bearer   k1 ')).toBe('k1');
  });

  it('reads nothing from a missing, empty, other-scheme or malformed header', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer ', 'Basic azE6', 'Bearer a b', 'Bearer =abc', 'Bearer a"b', 'Bearerk1'])
      expect(bearerToken(header)).toBeUndefined();
  });

  it('never throws, whatever the header holds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (header) => bearerToken(header) === undefined || /^[A-Za-z0-9\-._~+/]+=*$/.test(bearerToken(header) ?? '')),
    );
  });
});
