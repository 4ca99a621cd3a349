/**
 * What the optimizer draws with: a request's settings (or `default` when it names none) joined to
 * the bytes of the logo they name, from this optimizer's own registry. A logo the registry does not
 * hold, or holds with other bytes, is a deployment that has not converged (the api and the
 * optimizer read different presets), not a bad image: the caller is told to retry.
 */
import type { WatermarkSettings } from '../shared/contracts/watermark-settings.js';
import type { LogoRegistry } from '../shared/watermark/logos.js';

export interface RenderSettings extends WatermarkSettings {
  /** Raw bytes of the named logo (one of SUPPORTED_FORMATS), drawn left of the text. */
  readonly logoBytes?: Buffer;
}

export class UnknownLogoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnknownLogoError';
  }
}

export function renderSettings(settings: WatermarkSettings, logos: LogoRegistry): RenderSettings {
  if (!settings.logo) return settings;
  const logo = logos.get(settings.logo.name);
  if (!logo) throw new UnknownLogoError(`This optimizer has no logo "${settings.logo.name}": are the api's and the optimizer's presets the same?`);
  if (logo.sha256 !== settings.logo.sha256) {
    throw new UnknownLogoError(`This optimizer's logo "${settings.logo.name}" has other bytes than the api's: are their presets the same?`);
  }
  return { ...settings, logoBytes: logo.bytes };
}
