import { describe, expect, it } from 'vitest';
import { isImageHash, parseOriginalKey, sanitizeFilename, sha256Hex } from '../../../src/shared/content-address.js';

describe('content addressing', () => {
  it('hashes bytes to 64 lowercase hex characters', () => {
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it.each(['../x', 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), '', 42])('refuses %s as a hash', (value) => {
    expect(isImageHash(value)).toBe(false);
  });

  it('parses only original/<hash>.<ext>', () => {
    const hash = 'c'.repeat(64);
    expect(parseOriginalKey(`original/${hash}.png`)).toEqual({ hash, ext: 'png' });
    expect(parseOriginalKey(`original/${hash}`)).toBeUndefined();
    expect(parseOriginalKey(`/original/${hash}.png`)).toBeUndefined();
    expect(parseOriginalKey(`original/${hash}.png/../x`)).toBeUndefined();
  });

  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\photo.jpg', 'photo.jpg'],
    ['evil\r\nX-Injected: 1.jpg', 'evilX-Injected: 1.jpg'],
    ['...', 'upload'],
    ['', 'upload'],
    ['été 🌞.jpg', 'été 🌞.jpg'],
  ])('sanitizes the filename %j', (input, expected) => {
    expect(sanitizeFilename(input)).toBe(expected);
  });

  it('caps a very long filename at 255 characters', () => {
    expect(sanitizeFilename('a'.repeat(10_000))).toHaveLength(255);
  });
});
