/** What the optimizer draws with: the request's settings joined to its own registry's logo bytes. */
import { describe, expect, it } from 'vitest';
import { renderSettings, UnknownLogoError } from '../../../src/optimizer/settings.js';
import { registeredLogo } from '../../../src/shared/watermark/logos.js';
import { DEFAULT_SETTINGS } from '../../helpers/watermark.js';

const acme = registeredLogo(Buffer.from('acme'));
const logos = new Map([['acme', acme]]);

describe('renderSettings', () => {
  it('needs no logo when the settings name none', () => {
    expect(renderSettings(DEFAULT_SETTINGS, logos)).toEqual(DEFAULT_SETTINGS);
  });

  it('joins the named logo’s bytes', () => {
    expect(renderSettings({ ...DEFAULT_SETTINGS, logo: { name: 'acme', sha256: acme.sha256 } }, logos).logoBytes).toBe(acme.bytes);
  });

  it.each([
    ['a logo it does not hold', { name: 'other', sha256: acme.sha256 }, 'has no logo "other"'],
    ['a logo whose bytes differ', { name: 'acme', sha256: 'f'.repeat(64) }, 'has other bytes than the api'],
  ])('refuses %s: the deployment has not converged', (_case, logo, words) => {
    expect(() => renderSettings({ ...DEFAULT_SETTINGS, logo }, logos)).toThrow(UnknownLogoError);
    expect(() => renderSettings({ ...DEFAULT_SETTINGS, logo }, logos)).toThrow(words);
  });
});
