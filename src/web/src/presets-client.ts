/**
 * `GET /presets`, which the options panel is built from. It is open (no key), and the page works
 * without it: when it cannot be read, uploads simply name no preset and send no option.
 */
import type { PresetsView } from '../../shared/contracts/index.js';
import { isRecord } from './json-shape.js';
import { asWatermarkSettings } from './settings-header.js';
import type { FetchLike } from './upload-client.js';

/** The presets, or `null` when the api did not answer them (older api, proxy page, network). */
export async function fetchPresets(fetch: FetchLike, signal?: AbortSignal): Promise<PresetsView | null> {
  try {
    const response = await fetch('/presets', { headers: { Accept: 'application/json' }, ...(signal ? { signal } : {}) });
    return response.ok ? asPresetsView(await response.json()) : null;
  } catch {
    return null;
  }
}

/**
 * The view, or `null` when `value` is not one. As for the status view, only what the panel relies
 * on is checked (each preset's name, settings and allows); the api builds the rest from the contract.
 */
export function asPresetsView(value: unknown): PresetsView | null {
  if (!isRecord(value) || !Array.isArray(value.presets)) return null;
  const wellFormed = value.presets.every(
    (preset: unknown) => isRecord(preset) && typeof preset.name === 'string' && asWatermarkSettings(preset.settings) !== null && isRecord(preset.allows),
  );
  return wellFormed ? (value as PresetsView) : null;
}
