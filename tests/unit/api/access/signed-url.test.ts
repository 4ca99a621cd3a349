import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSignedUrl, signedImagePath } from '../../../../src/api/access/signed-url.js';

const hash = 'a'.repeat(64);
const other = 'b'.repeat(64);
const NOW = 1_800_000_000;
const KEYS = ['new-signing-key-0123456789abcdef', 'old-signing-key-0123456789abcdef'];

function queryOf(path: string): { expires?: string; sig?: string } {
  const params = new URL(path, 'http://x').searchParams;
  return { expires: params.get('expires') ?? undefined, sig: params.get('sig') ?? undefined };
}

describe('signed image URLs', () => {
  it('verifies a URL signed with the first key until it expires, and not a second later', () => {
    const path = signedImagePath(hash, NOW + 60, KEYS);
    expect(path).toMatch(new RegExp(`^/image/${hash}\\?expires=${NOW + 60}&sig=[A-Za-z0-9_-]{43}$`));
    expect(checkSignedUrl(hash, queryOf(path), KEYS, NOW)).toBe('valid');
    expect(checkSignedUrl(hash, queryOf(path), KEYS, NOW + 59)).toBe('valid');
    expect(checkSignedUrl(hash, queryOf(path), KEYS, NOW + 60)).toBe('expired');
  });

  it('keeps URLs signed by an older key valid while it is listed, and none once it is dropped', () => {
    const signedByOld = signedImagePath(hash, NOW + 60, [KEYS[1]!]);
    expect(checkSignedUrl(hash, queryOf(signedByOld), KEYS, NOW)).toBe('valid');
    expect(checkSignedUrl(hash, queryOf(signedByOld), [KEYS[0]!], NOW)).toBe('forged');
  });

  it('refuses a signature moved to another image, a changed expiry, or a tampered signature', () => {
    const query = queryOf(signedImagePath(hash, NOW + 60, KEYS));
    expect(checkSignedUrl(other, query, KEYS, NOW)).toBe('forged');
    expect(checkSignedUrl(hash, { ...query, expires: String(NOW + 6000) }, KEYS, NOW)).toBe('forged');
    const flipped = `${query.sig!.slice(0, 10)}${query.sig![10] === 'A' ? 'B' : 'A'}${query.sig!.slice(11)}`;
    expect(checkSignedUrl(hash, { ...query, sig: flipped }, KEYS, NOW)).toBe('forged');
  });

  it('says absent when neither parameter came, forged when only one or a malformed one did', () => {
    expect(checkSignedUrl(hash, {}, KEYS, NOW)).toBe('absent');
    expect(checkSignedUrl(hash, { expires: String(NOW + 60) }, KEYS, NOW)).toBe('forged');
    expect(checkSignedUrl(hash, { sig: 'x'.repeat(43) }, KEYS, NOW)).toBe('forged');
    expect(checkSignedUrl(hash, { expires: ['1', '2'], sig: 'x'.repeat(43) }, KEYS, NOW)).toBe('forged');
    expect(checkSignedUrl(hash, { expires: '1e12', sig: 'x'.repeat(43) }, KEYS, NOW)).toBe('forged');
  });

  it('answers forged, never throws, for any query a client can send', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
      fc.constant(undefined),
      fc.object({ maxDepth: 1 }),
    );
    fc.assert(
      fc.property(value, value, (expires, sig) => {
        const check = checkSignedUrl(hash, { expires, sig }, KEYS, NOW);
        return expires === undefined && sig === undefined ? check === 'absent' : check === 'forged';
      }),
      { numRuns: 2000 },
    );
  });
});
