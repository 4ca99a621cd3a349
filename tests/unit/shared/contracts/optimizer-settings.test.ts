import { describe, expect, it } from 'vitest';
import { decodeValue } from '../../../../src/shared/contracts/decode.js';
import { OptimizerSettingsSchema } from '../../../../src/shared/contracts/optimizer-settings.js';
import { DEFAULT_SETTINGS } from '../../../helpers/watermark.js';

const VIEW = { pipelineVersion: '2', default: DEFAULT_SETTINGS, logos: [{ name: 'acme', sha256: 'a'.repeat(64) }] };

describe('optimizer settings contract (GET /settings)', () => {
  it('accepts what the optimizer answers', () => {
    expect(decodeValue(OptimizerSettingsSchema, VIEW)).toEqual({ ok: true, value: VIEW });
  });

  it.each([
    ['pipelineVersion', { ...VIEW, pipelineVersion: 2 }, 'pipelineVersion must be a string (received 2)'],
    ['default', { ...VIEW, default: { ...DEFAULT_SETTINGS, maxEdge: 0 } }, 'default.maxEdge must be at least 16 (received 0)'],
    ['setting', { ...VIEW, default: { ...DEFAULT_SETTINGS, colour: 'red' } }, 'default'],
    ['logo', { ...VIEW, logos: [{ name: 'acme', sha256: 'nope' }] }, 'logos.0.sha256'],
    ['the body', 'not an object', 'is not a JSON object'],
  ])('names a bad %s', (_field, body, words) => {
    const decoded = decodeValue(OptimizerSettingsSchema, body);
    expect(decoded.ok ? '' : decoded.reason).toContain(words);
  });
});
