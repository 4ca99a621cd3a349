import { describe, expect, it } from 'vitest';
import { decodeValue } from '../../../../src/shared/contracts/decode.js';
import { OptimizerSettingsSchema } from '../../../../src/shared/contracts/optimizer-settings.js';

const VIEW = {
  fingerprint: 'f'.repeat(64),
  text: 'NWS',
  position: 'southeast',
  opacity: 0.5,
  margin: 24,
  tiled: false,
  maxEdge: 2048,
  format: 'auto',
  quality: 80,
  logo: false,
};

describe('optimizer settings contract (GET /settings)', () => {
  it('accepts what the optimizer answers', () => {
    expect(decodeValue(OptimizerSettingsSchema, VIEW)).toEqual({ ok: true, value: VIEW });
  });

  it.each([
    ['fingerprint', { ...VIEW, fingerprint: 42 }, 'fingerprint must be a string (received 42)'],
    ['maxEdge', { ...VIEW, maxEdge: 0 }, 'maxEdge'],
    ['logo', { ...VIEW, logo: 'yes' }, 'logo must be a boolean (received "yes")'],
    ['the body', 'not an object', 'is not a JSON object'],
  ])('names a bad %s', (_field, body, words) => {
    const decoded = decodeValue(OptimizerSettingsSchema, body);
    expect(decoded.ok ? '' : decoded.reason).toContain(words);
  });
});
