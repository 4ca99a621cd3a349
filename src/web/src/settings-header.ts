/**
 * The effective settings a result was made with, as the api reports them: `X-Watermark-Settings`
 * on a 200 (JSON, every non-ASCII character as a JSON \u escape, which JSON.parse reads back) or `settings` in a 202.
 */
import type { WatermarkSettings } from '../../shared/contracts/index.js';
import { isRecord } from './json-shape.js';

/**
 * The settings, or `null` when `value` is not them. Only the fields the page shows are checked: the
 * api builds them from the contract's type, so the rest is trusted as typed (as in asJobStatus).
 */
export function asWatermarkSettings(value: unknown): WatermarkSettings | null {
  if (!isRecord(value)) return null;
  const { text, position, opacity, format, tile } = value;
  const shaped =
    typeof text === 'string' && typeof position === 'string' && typeof opacity === 'number' && typeof format === 'string' && typeof tile === 'boolean';
  return shaped ? (value as WatermarkSettings) : null;
}

export function parseSettingsHeader(header: string | null): WatermarkSettings | null {
  if (header === null || header.trim() === '') return null;
  try {
    return asWatermarkSettings(JSON.parse(header));
  } catch {
    return null;
  }
}
